// udpbatch: batched UDP I/O for srtpgate's media ports (Linux only).
//
// Why this exists: Node 20's dgram makes one recvmsg and one sendmsg per datagram and
// spends ~8 µs of libuv/V8 work on each (a Buffer, an rinfo object and an address string
// per packet). Here one epoll wakeup drains every ready socket with recvmmsg straight into
// free packet slots of the WASM memory, JS is called ONCE per batch with typed arrays, and
// the sends queued during that call go out with one sendmmsg per socket.
//
// Shape (all numbers; the JS side types it in src/net/native/addon.ts, the only caller):
//   create(memory, ringPtr, slotBytes, ringSlots, maxRecv, ctl, stash, rx, tx, txStatus,
//          stats, onReady) -> ctx
//   bind(ctx, family 4|6, address, port, out[2]) -> out = [socket id, bound port]
//   close(ctx, id)   setBufferSizes(ctx, id, bytes)   flush(ctx, n) -> deferred count
//   destroy(ctx)     ntop(family, a0, a1, a2, a3, scope) -> string
//   pton(address, out[5]) -> 4 | 6 | 0, out = [scope, a0, a1, a2, a3]
//
// Threads: none. One epoll fd per context holds every socket (level-triggered); libuv polls
// that one fd with a uv_poll_t, so readiness wakes JS on the main loop like any other handle.
// Nothing here blocks: sockets are non-blocking and every syscall passes MSG_DONTWAIT.
// This file is the N-API glue, the poll handle and the lifecycle; the recvmmsg/sendmmsg
// engine is mmsg.c, the shared layout udpbatch.h.
#define _GNU_SOURCE
#include "udpbatch.h"
#include <stdio.h>

// ------------------------------------------------------------------ helpers

#define CHECK(env, call)                                        \
  do {                                                          \
    if ((call) != napi_ok) { rethrow_or(env, #call); return NULL; } \
  } while (0)

static void rethrow_or(napi_env env, const char* what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "E_INTERNAL", what);
}

static napi_value throw_errno(napi_env env, int err, const char* syscall) {
  const char* name = uv_err_name(-err);
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s (%s)", syscall, name, strerror(err));
  napi_throw_error(env, name, msg);
  return NULL;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}


static int get_ctx(napi_env env, napi_value v, ctx_t** out) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "E_INTERNAL", "not a udpbatch context");
    return 0;
  }
  *out = (ctx_t*)p;
  if ((*out)->destroyed) {
    napi_throw_error(env, "E_INVALID_STATE", "udpbatch context is closed");
    return 0;
  }
  return 1;
}

static int get_i32(napi_env env, napi_value v, int32_t* out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "E_INTERNAL", "expected a number");
    return 0;
  }
  return 1;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok || type != want) {
    napi_throw_type_error(env, "E_INTERNAL", "wrong typed array");
    return 0;
  }
  return 1;
}


static void ctx_free(ctx_t* c) {
  free(c->socks); free(c->gens); free(c->free_idx);
  free(c->rx_msgs); free(c->rx_iov); free(c->rx_addr);
  free(c->tx_msgs); free(c->tx_iov); free(c->tx_addr);
  free(c->tx_next); free(c->tx_idx); free(c->tx_order);
  free(c->scratch);
  free(c);
}

static void ctx_unref(ctx_t* c) {
  if (--c->refs == 0) ctx_free(c);
}

static void on_poll_closed(uv_handle_t* h) {
  ctx_t* c = (ctx_t*)h->data;
  // The handle is closed: node may now finish tearing the environment down (and unload us).
  if (c->cleanup != NULL) napi_remove_async_cleanup_hook(c->cleanup);
  c->cleanup = NULL;
  ctx_unref(c);
}

// The loop stays alive while a socket is open (as with dgram), and not after.
static void polling(ctx_t* c, int on);


static void call_js(ctx_t* c, int count, int flags) {
  napi_env env = c->env;
  napi_value cb, recv, argv[2], result;
  if (napi_get_reference_value(env, c->cb, &cb) != napi_ok || cb == NULL) return;
  napi_get_reference_value(env, c->resource, &recv);
  napi_create_int32(env, count, &argv[0]);
  napi_create_int32(env, flags, &argv[1]);
  // make_callback, not call_function: it runs the nextTick and microtask queues after the
  // batch, as node does after a dgram 'message' event.
  napi_status st = napi_make_callback(env, c->async, recv, cb, 2, argv, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);  // same fate as a throw inside a dgram 'message' handler
  }
}

static void on_poll(uv_poll_t* h, int status, int events) {
  (void)events;
  ctx_t* c = (ctx_t*)h->data;
  if (c->destroyed || status < 0) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(c->env, &scope) != napi_ok) return;
  c->stats[ST_WAKEUPS]++;

  // The slots live in WASM memory. CryptoCore never grows it, so the ArrayBuffer never
  // detaches and `mem` stays valid; if that ever changed, stop rather than write into
  // freed memory.
  napi_value mem;
  bool detached = true;
  if (napi_get_reference_value(c->env, c->keep[0], &mem) == napi_ok && mem != NULL) {
    napi_is_detached_arraybuffer(c->env, mem, &detached);
  }
  if (detached) {
    polling(c, 0);
    call_js(c, 0, FLAG_DETACHED);
    napi_close_handle_scope(c->env, scope);
    return;
  }

  struct epoll_event ev[EPOLL_EVENTS];
  int n;
  do n = epoll_wait(c->epfd, ev, EPOLL_EVENTS, 0); while (n < 0 && errno == EINTR);
  int count = 0, flags = 0;
  for (int i = 0; i < n; i++) {
    sock_t* s = ub_lookup(c, (int32_t)ev[i].data.u32);
    if (s == NULL) continue;
    if ((ev[i].events & EPOLLOUT) && s->blocked) {
      s->blocked = 0;
      ub_epoll_set(c, s, EPOLLIN);
      flags |= FLAG_WRITABLE;
    }
    // Sockets past a full batch stay ready (level-triggered) and are read on the next
    // wakeup, after libuv has served timers and other handles.
    if ((ev[i].events & (EPOLLIN | EPOLLERR)) && count < c->rx_cap) count += ub_rx_socket(c, s, count);
  }
  if (count > 0 || flags != 0) call_js(c, count, flags);
  napi_close_handle_scope(c->env, scope);
}

static void polling(ctx_t* c, int on) {
  if (on && !c->polling) {
    if (uv_poll_start(&c->poll, UV_READABLE, on_poll) == 0) {
      c->polling = 1;
      uint32_t r;
      napi_reference_ref(c->env, c->cb, &r);
    }
  } else if (!on && c->polling) {
    uv_poll_stop(&c->poll);
    c->polling = 0;
    uint32_t r;
    napi_reference_unref(c->env, c->cb, &r);
  }
}

// ------------------------------------------------------------------ JS entry points

static void ctx_destroy(ctx_t* c) {
  if (c->destroyed) return;
  c->destroyed = 1;
  for (uint32_t i = 0; i < c->next_idx; i++) {
    sock_t* s = c->socks[i];
    if (s != NULL) { close(s->fd); free(s); c->socks[i] = NULL; }
  }
  c->open = 0;
  polling(c, 0);
  // libuv allows closing the fd right after uv_close(); the handle memory lives in the
  // context until the close callback drops the handle's reference.
  uv_close((uv_handle_t*)&c->poll, on_poll_closed);
  close(c->epfd);
  napi_env env = c->env;
  napi_delete_reference(env, c->cb);
  for (int i = 0; i < 7; i++) napi_delete_reference(env, c->keep[i]);
  napi_delete_reference(env, c->resource);
  napi_async_destroy(env, c->async);
}

// When a worker thread (or the process) tears its environment down with the context still
// open, the poll handle has to be closed and its close callback run while this library is
// still loaded: an async cleanup hook makes node wait for on_poll_closed.
static void ctx_cleanup_hook(napi_async_cleanup_hook_handle handle, void* arg) {
  (void)handle;  // the same as ctx->cleanup, removed in on_poll_closed
  ctx_destroy((ctx_t*)arg);
}

static void ctx_finalize(napi_env env, void* data, void* hint) {
  (void)env; (void)hint;
  ctx_t* c = (ctx_t*)data;
  ctx_destroy(c);
  ctx_unref(c);
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 12) { napi_throw_type_error(env, "E_INTERNAL", "create: 12 arguments"); return NULL; }
  bool is_ab = false;
  void* mem = NULL;
  size_t mem_len = 0;
  CHECK(env, napi_is_arraybuffer(env, a[0], &is_ab));
  if (!is_ab) { napi_throw_type_error(env, "E_INTERNAL", "create: memory must be an ArrayBuffer"); return NULL; }
  CHECK(env, napi_get_arraybuffer_info(env, a[0], &mem, &mem_len));
  int32_t ring_ptr, slot_bytes, ring_slots, max_recv;
  if (!get_i32(env, a[1], &ring_ptr) || !get_i32(env, a[2], &slot_bytes) ||
      !get_i32(env, a[3], &ring_slots) || !get_i32(env, a[4], &max_recv)) return NULL;
  void *ctl, *stash, *rx, *tx, *txs, *stats;
  size_t ctl_n, stash_n, rx_n, tx_n, txs_n, stats_n;
  if (!get_typed(env, a[5], napi_int32_array, &ctl, &ctl_n) ||
      !get_typed(env, a[6], napi_int32_array, &stash, &stash_n) ||
      !get_typed(env, a[7], napi_int32_array, &rx, &rx_n) ||
      !get_typed(env, a[8], napi_int32_array, &tx, &tx_n) ||
      !get_typed(env, a[9], napi_int32_array, &txs, &txs_n) ||
      !get_typed(env, a[10], napi_float64_array, &stats, &stats_n)) return NULL;
  napi_valuetype t;
  CHECK(env, napi_typeof(env, a[11], &t));
  int rx_cap = (int)(rx_n / RX_STRIDE), tx_cap = (int)(tx_n / TX_STRIDE);
  // Every slot must lie inside the memory and hold maxRecv bytes: the kernel writes there.
  if (t != napi_function || ring_ptr < 0 || slot_bytes <= 0 || ring_slots <= 0 || max_recv <= 0 ||
      max_recv > slot_bytes || (size_t)ring_ptr + (size_t)slot_bytes * (size_t)ring_slots > mem_len ||
      ctl_n < 1 || stats_n < ST_COUNT || rx_cap < 1 || rx_cap > MAX_BATCH || tx_cap < 1 ||
      tx_cap > MAX_BATCH || txs_n < (size_t)tx_cap || stash_n < 1) {
    napi_throw_range_error(env, "E_INTERNAL", "create: bad layout");
    return NULL;
  }
  ctx_t* c = calloc(1, sizeof *c);
  if (c == NULL) return throw_errno(env, ENOMEM, "calloc");
  c->env = env;
  c->mem = (uint8_t*)mem;
  c->mem_len = mem_len;
  c->ring_ptr = (size_t)ring_ptr;
  c->slot_bytes = (size_t)slot_bytes;
  c->ring_slots = ring_slots;
  c->max_recv = max_recv;
  c->ctl = ctl; c->stash = stash; c->stash_cap = (int)stash_n;
  c->rx = rx; c->rx_cap = rx_cap;
  c->tx = tx; c->tx_status = txs; c->tx_cap = tx_cap;
  c->stats = stats;
  c->rx_msgs = calloc((size_t)rx_cap, sizeof *c->rx_msgs);
  c->rx_iov = calloc((size_t)rx_cap, sizeof *c->rx_iov);
  c->rx_addr = calloc((size_t)rx_cap, sizeof *c->rx_addr);
  c->tx_msgs = calloc((size_t)tx_cap, sizeof *c->tx_msgs);
  c->tx_iov = calloc((size_t)tx_cap, sizeof *c->tx_iov);
  c->tx_addr = calloc((size_t)tx_cap, sizeof *c->tx_addr);
  c->tx_next = calloc((size_t)tx_cap, sizeof *c->tx_next);
  c->tx_idx = calloc((size_t)tx_cap, sizeof *c->tx_idx);
  c->tx_order = calloc((size_t)tx_cap, sizeof *c->tx_order);
  c->scratch = malloc((size_t)max_recv);
  c->epfd = epoll_create1(EPOLL_CLOEXEC);
  uv_loop_t* loop = NULL;
  if (!c->rx_msgs || !c->rx_iov || !c->rx_addr || !c->tx_msgs || !c->tx_iov || !c->tx_addr ||
      !c->tx_next || !c->tx_idx || !c->tx_order || !c->scratch || c->epfd < 0 ||
      napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &c->poll, c->epfd) != 0) {
    int e = c->epfd < 0 ? errno : ENOMEM;
    if (c->epfd >= 0) close(c->epfd);
    ctx_free(c);
    return throw_errno(env, e, "create");
  }
  c->poll.data = c;
  c->refs = 2;
  napi_value resource, name, ext;
  CHECK(env, napi_create_object(env, &resource));
  CHECK(env, napi_create_string_utf8(env, "srtpgate:udpbatch", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_async_init(env, resource, name, &c->async));
  CHECK(env, napi_create_reference(env, resource, 1, &c->resource));
  CHECK(env, napi_create_reference(env, a[11], 0, &c->cb));
  CHECK(env, napi_create_reference(env, a[0], 1, &c->keep[0]));
  for (int i = 0; i < 6; i++) CHECK(env, napi_create_reference(env, a[5 + i], 1, &c->keep[1 + i]));
  CHECK(env, napi_create_external(env, c, ctx_finalize, NULL, &ext));
  CHECK(env, napi_add_async_cleanup_hook(env, ctx_cleanup_hook, c, &c->cleanup));
  return ext;
}

static int grow_table(ctx_t* c) {
  uint32_t cap = c->socks_cap ? c->socks_cap * 2 : 64;
  if (cap > INDEX_MASK + 1u) cap = INDEX_MASK + 1u;
  if (cap <= c->socks_cap) return 0;
  sock_t** s = realloc(c->socks, cap * sizeof *s);
  if (s == NULL) return 0;
  c->socks = s;
  uint16_t* g = realloc(c->gens, cap * sizeof *g);
  if (g == NULL) return 0;
  c->gens = g;
  uint32_t* f = realloc(c->free_idx, cap * sizeof *f);
  if (f == NULL) return 0;
  c->free_idx = f;
  for (uint32_t i = c->socks_cap; i < cap; i++) { c->socks[i] = NULL; c->gens[i] = 1; }
  c->socks_cap = cap;
  return 1;
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  ctx_t* c;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 5 || !get_ctx(env, a[0], &c)) return NULL;
  int32_t family, port;
  char address[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t alen = 0;
  void* out;
  size_t out_n;
  if (!get_i32(env, a[1], &family) || !get_i32(env, a[3], &port)) return NULL;
  if (napi_get_value_string_utf8(env, a[2], address, sizeof address, &alen) != napi_ok) {
    napi_throw_type_error(env, "E_INTERNAL", "bind: address must be a string");
    return NULL;
  }
  if (alen >= sizeof address - 1) return throw_errno(env, EINVAL, "bind");  // cut short: not an address
  if (!get_typed(env, a[4], napi_int32_array, &out, &out_n) || out_n < 2) return NULL;
  if ((family != 4 && family != 6) || port < 0 || port > 65535) return throw_errno(env, EINVAL, "bind");
  addr_t sa;
  memset(&sa, 0, sizeof sa);
  int err = family == 4 ? uv_ip4_addr(address, port, &sa.in4) : uv_ip6_addr(address, port, &sa.in6);
  if (err != 0) return throw_errno(env, EINVAL, "bind");
  if (c->free_top == 0 && c->next_idx == c->socks_cap && !grow_table(c)) return throw_errno(env, EMFILE, "bind");
  int af = family == 4 ? AF_INET : AF_INET6;
  int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int one = 1;
  // As dgram's { type: 'udp6', ipv6Only: true }: a v6 port does not also take v4 traffic.
  if (af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
    int e = errno; close(fd); return throw_errno(env, e, "setsockopt");
  }
  if (bind(fd, &sa.sa, af == AF_INET ? sizeof sa.in4 : sizeof sa.in6) < 0) {
    int e = errno; close(fd); return throw_errno(env, e, "bind");
  }
  addr_t bound;
  socklen_t bl = sizeof bound;
  if (getsockname(fd, &bound.sa, &bl) < 0) { int e = errno; close(fd); return throw_errno(env, e, "getsockname"); }
  sock_t* s = calloc(1, sizeof *s);
  if (s == NULL) { close(fd); return throw_errno(env, ENOMEM, "bind"); }
  uint32_t idx = c->free_top > 0 ? c->free_idx[--c->free_top] : c->next_idx++;
  s->fd = fd;
  s->family = af;
  s->id = (int32_t)(((uint32_t)(c->gens[idx] & GEN_MASK) << INDEX_BITS) | idx);
  s->head = s->tail = -1;
  struct epoll_event ev = { .events = EPOLLIN, .data = { .u32 = (uint32_t)s->id } };
  if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    close(fd); free(s);
    c->free_idx[c->free_top++] = idx;
    return throw_errno(env, e, "epoll_ctl");
  }
  c->socks[idx] = s;
  if (c->open++ == 0) polling(c, 1);
  int32_t* o = out;
  o[0] = s->id;
  o[1] = ntohs(af == AF_INET ? bound.in4.sin_port : bound.in6.sin6_port);
  return undefined(env);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  void* p = NULL;
  int32_t id;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 2 || napi_get_value_external(env, a[0], &p) != napi_ok || p == NULL) return undefined(env);
  ctx_t* c = p;
  if (c->destroyed || !get_i32(env, a[1], &id)) return undefined(env);
  sock_t* s = ub_lookup(c, id);
  if (s == NULL) return undefined(env);  // closing twice is harmless
  uint32_t idx = (uint32_t)id & INDEX_MASK;
  // Synchronous, so the port can be bound again as soon as close() returns.
  epoll_ctl(c->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  free(s);
  c->socks[idx] = NULL;
  uint16_t gen = (uint16_t)((c->gens[idx] + 1u) & GEN_MASK);
  c->gens[idx] = gen != 0 ? gen : 1;  // generation 0 is never used, so an id is never 0
  c->free_idx[c->free_top++] = idx;
  if (--c->open == 0) polling(c, 0);
  return undefined(env);
}

static napi_value js_set_buffer_sizes(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  ctx_t* c;
  int32_t id, bytes;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 3 || !get_ctx(env, a[0], &c) || !get_i32(env, a[1], &id) || !get_i32(env, a[2], &bytes)) return NULL;
  sock_t* s = ub_lookup(c, id);
  // Best effort, as with dgram: the kernel caps the sizes at rmem_max / wmem_max.
  if (s != NULL && bytes > 0) {
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  return undefined(env);
}

static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], r;
  ctx_t* c;
  int32_t n;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 2 || !get_ctx(env, a[0], &c) || !get_i32(env, a[1], &n)) return NULL;
  if (n < 0 || n > c->tx_cap) { napi_throw_range_error(env, "E_INTERNAL", "flush: bad count"); return NULL; }
  CHECK(env, napi_create_int32(env, ub_flush_rows(c, n), &r));
  return r;
}

static napi_value js_destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  void* p = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc == 1 && napi_get_value_external(env, a[0], &p) == napi_ok && p != NULL) ctx_destroy((ctx_t*)p);
  return undefined(env);
}

// Formats an address exactly as node formats rinfo.address (libuv's inet_ntop, and
// "%<interface>" after a link-local IPv6 address), so strings compare equal across backends.
static napi_value js_ntop(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6], r;
  int32_t v[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 6) { napi_throw_type_error(env, "E_INTERNAL", "ntop: 6 arguments"); return NULL; }
  for (int i = 0; i < 6; i++) if (!get_i32(env, a[i], &v[i])) return NULL;
  char buf[INET6_ADDRSTRLEN + UV_IF_NAMESIZE + 2];
  if (v[0] == 4) {
    struct in_addr in4 = { .s_addr = htonl((uint32_t)v[1]) };
    uv_inet_ntop(AF_INET, &in4, buf, sizeof buf);
  } else {
    addr_t sa;
    int32_t row[RX_STRIDE] = { 0, 0, 0, 0, v[5], v[1], v[2], v[3], v[4] };
    ub_get_addr(row, AF_INET6, &sa);
    uv_inet_ntop(AF_INET6, &sa.in6.sin6_addr, buf, sizeof buf);
    if (IN6_IS_ADDR_LINKLOCAL(&sa.in6.sin6_addr) && sa.in6.sin6_scope_id > 0) {
      size_t l = strlen(buf);
      size_t room = sizeof buf - l - 1;
      buf[l] = '%';
      if (uv_if_indextoiid(sa.in6.sin6_scope_id, buf + l + 1, &room) != 0) buf[l] = '\0';
    }
  }
  CHECK(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &r));
  return r;
}

// Parses an IP literal (as dgram's send does: uv_ip4_addr / uv_ip6_addr, "%zone" allowed).
static napi_value js_pton(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], r;
  char address[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t alen = 0;
  void* out;
  size_t out_n;
  CHECK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int family = 0;
  if (argc == 2 && napi_get_value_string_utf8(env, a[0], address, sizeof address, &alen) == napi_ok &&
      alen < sizeof address - 1 && get_typed(env, a[1], napi_int32_array, &out, &out_n) && out_n >= 5) {
    int32_t* o = out;
    int32_t row[RX_STRIDE];
    addr_t sa;
    memset(&sa, 0, sizeof sa);
    if (uv_ip4_addr(address, 0, &sa.in4) == 0) family = 4;
    else if (uv_ip6_addr(address, 0, &sa.in6) == 0) family = 6;
    if (family != 0) {
      ub_put_addr(row, &sa);
      for (int i = 0; i < 5; i++) o[i] = row[4 + i];
    }
  } else {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return NULL;
  }
  CHECK(env, napi_create_int32(env, family, &r));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value abi;
  napi_create_int32(env, ABI_VERSION, &abi);
  napi_property_descriptor props[] = {
    { "abiVersion", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL },
    { "create", NULL, js_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setBufferSizes", NULL, js_set_buffer_sizes, NULL, NULL, NULL, napi_enumerable, NULL },
    { "flush", NULL, js_flush, NULL, NULL, NULL, napi_enumerable, NULL },
    { "destroy", NULL, js_destroy, NULL, NULL, NULL, napi_enumerable, NULL },
    { "ntop", NULL, js_ntop, NULL, NULL, NULL, napi_enumerable, NULL },
    { "pton", NULL, js_pton, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
