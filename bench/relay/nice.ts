// Runs a bench process under `nice -n N`, so every thread it starts inherits the value
// (Linux nice is per thread: renicing a running rtpengine would leave its workers behind).
export function niced(cmd: string, args: readonly string[], nice: number): [string, string[]] {
  return nice === 0 ? [cmd, [...args]] : ['nice', ['-n', String(nice), cmd, ...args]];
}
