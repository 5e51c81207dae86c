# Built by scripts/build-native.mjs (node-gyp, local headers only). This file lives in
# native/ rather than at the package root on purpose: a root binding.gyp makes npm run an
# implicit `node-gyp rebuild` on `npm ci` (which would fail the install when the build fails)
# and node-gyp's build/ would share, and on `rebuild` wipe, the root build/ that holds the WASM.
{
  "targets": [
    {
      "target_name": "udpbatch",
      "sources": ["udpbatch.c", "mmsg.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
