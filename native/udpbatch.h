// udpbatch: shared definitions of the addon (udpbatch.c: N-API glue, poll and lifecycle;
// mmsg.c: the datagram engine, recvmmsg into slots and sendmmsg of the queue).
#ifndef SRTPGATE_UDPBATCH_H
#define SRTPGATE_UDPBATCH_H
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

// Keep in step with src/net/native/addon.ts (checked at load through `abiVersion`).
#define ABI_VERSION 1
#define RX_STRIDE 9   // [id, slot, len, port, scope, a0, a1, a2, a3]
#define TX_STRIDE 9   // [id, offset, len, port, scope, a0, a1, a2, a3]
#define TX_DEFERRED (-1)
#define FLAG_WRITABLE 1
#define FLAG_DETACHED 2
#define CTL_STASH 0   // ctl[0]: how many entries of `stash` hold free slots (a stack)
#define ST_WAKEUPS 0
#define ST_RX_PACKETS 1
#define ST_RX_SYSCALLS 2
#define ST_RX_ERRORS 3
#define ST_TX_PACKETS 4
#define ST_TX_SYSCALLS 5
#define ST_TX_EAGAIN 6
#define ST_TX_ERRORS 7
#define ST_COUNT 8
// Socket ids are (generation << INDEX_BITS) | table index, so an id that outlives its
// socket (a queued send, a packet in the batch being handled) never reaches a new socket
// that reuses the index.
#define INDEX_BITS 20
#define INDEX_MASK ((1u << INDEX_BITS) - 1u)
#define GEN_MASK 0x7ffu
#define MAX_BATCH 1024  // UIO_MAXIOV: the most sendmmsg/recvmmsg take in one call
#define EPOLL_EVENTS 64

typedef struct {
  int fd;
  int32_t id;
  int family;       // AF_INET or AF_INET6
  int blocked;      // a send hit EAGAIN: entries wait for EPOLLOUT
  uint32_t flush_gen;
  int head, tail;   // this flush's entries for this socket, linked through ctx->tx_next
} sock_t;

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
} addr_t;

typedef struct {
  napi_env env;
  int epfd;
  uv_poll_t poll;
  int polling;
  int destroyed;
  napi_async_cleanup_hook_handle cleanup;  // see ctx_cleanup_hook; removed when the poll handle is closed
  int refs;          // the JS external + the poll handle; freed at 0
  napi_ref cb;       // strong while a socket is open, weak otherwise
  napi_ref keep[7];  // memory and the six typed arrays: their data pointers stay valid
  napi_ref resource;
  napi_async_context async;

  uint8_t* mem;
  size_t mem_len;
  size_t ring_ptr, slot_bytes;
  int ring_slots;
  int max_recv;
  int32_t* ctl;
  int32_t* stash;
  int stash_cap;
  int32_t* rx;
  int rx_cap;
  int32_t* tx;
  int32_t* tx_status;
  int tx_cap;
  double* stats;

  sock_t** socks;
  uint16_t* gens;
  uint32_t socks_cap;
  uint32_t* free_idx;
  uint32_t free_top;
  uint32_t next_idx;
  int open;

  struct mmsghdr* rx_msgs;
  struct iovec* rx_iov;
  addr_t* rx_addr;
  struct mmsghdr* tx_msgs;
  struct iovec* tx_iov;
  addr_t* tx_addr;
  int* tx_next;
  int* tx_idx;
  sock_t** tx_order;
  uint32_t flush_gen;
  uint8_t* scratch;  // where datagrams go when no slot is free: received, counted, dropped
} ctx_t;

// mmsg.c
sock_t* ub_lookup(ctx_t* c, int32_t id);
void ub_put_addr(int32_t* row, const addr_t* a);
socklen_t ub_get_addr(const int32_t* row, int family, addr_t* a);
void ub_epoll_set(ctx_t* c, sock_t* s, uint32_t events);
int ub_rx_socket(ctx_t* c, sock_t* s, int base);
int ub_flush_rows(ctx_t* c, int n);

#endif
