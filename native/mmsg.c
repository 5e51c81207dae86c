// The datagram engine of udpbatch: socket lookup by id, address rows, recvmmsg from a ready
// socket straight into free ring slots, and the queue flushed with one sendmmsg per socket.
// No N-API here: udpbatch.c calls these with the context's arrays already in place.
#define _GNU_SOURCE
#include "udpbatch.h"

sock_t* ub_lookup(ctx_t* c, int32_t id) {
  uint32_t idx = (uint32_t)id & INDEX_MASK;
  if (id <= 0 || idx >= c->socks_cap) return NULL;
  sock_t* s = c->socks[idx];
  return s != NULL && s->id == id ? s : NULL;
}

// Source address of a received datagram into its meta row (host-order words).
void ub_put_addr(int32_t* row, const addr_t* a) {
  if (a->sa.sa_family == AF_INET) {
    row[3] = ntohs(a->in4.sin_port);
    row[4] = 0;
    row[5] = (int32_t)ntohl(a->in4.sin_addr.s_addr);
    row[6] = row[7] = row[8] = 0;
  } else {
    const uint8_t* b = a->in6.sin6_addr.s6_addr;
    row[3] = ntohs(a->in6.sin6_port);
    row[4] = (int32_t)a->in6.sin6_scope_id;
    for (int w = 0; w < 4; w++) {
      row[5 + w] = (int32_t)(((uint32_t)b[4 * w] << 24) | ((uint32_t)b[4 * w + 1] << 16) |
                             ((uint32_t)b[4 * w + 2] << 8) | (uint32_t)b[4 * w + 3]);
    }
  }
}

// Destination of a queued send from its tx row, in the socket's own family.
socklen_t ub_get_addr(const int32_t* row, int family, addr_t* a) {
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    a->in4.sin_family = AF_INET;
    a->in4.sin_port = htons((uint16_t)row[3]);
    a->in4.sin_addr.s_addr = htonl((uint32_t)row[5]);
    return sizeof a->in4;
  }
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_port = htons((uint16_t)row[3]);
  a->in6.sin6_scope_id = (uint32_t)row[4];
  uint8_t* b = a->in6.sin6_addr.s6_addr;
  for (int w = 0; w < 4; w++) {
    uint32_t x = (uint32_t)row[5 + w];
    b[4 * w] = (uint8_t)(x >> 24);
    b[4 * w + 1] = (uint8_t)(x >> 16);
    b[4 * w + 2] = (uint8_t)(x >> 8);
    b[4 * w + 3] = (uint8_t)x;
  }
  return sizeof a->in6;
}

void ub_epoll_set(ctx_t* c, sock_t* s, uint32_t events) {
  struct epoll_event ev = { .events = events, .data = { .u32 = (uint32_t)s->id } };
  epoll_ctl(c->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

// ------------------------------------------------------------------ receive

// recvmmsg from one socket into rows [base, base + n) of the batch; returns n.
int ub_rx_socket(ctx_t* c, sock_t* s, int base) {
  int room = c->rx_cap - base;
  int avail = c->ctl[CTL_STASH];
  if (avail < 0 || avail > c->stash_cap) avail = 0;
  // With no free slot the datagrams are still read (into scratch) so the socket does not
  // stay readable forever, and JS counts each as a backlog drop for its stream.
  int k = avail > 0 && avail < room ? avail : room;
  for (int j = 0; j < k; j++) {
    uint8_t* dst = c->scratch;
    if (avail > 0) {
      int32_t slot = c->stash[avail - 1 - j];
      if (slot >= 0 && slot < c->ring_slots) dst = c->mem + c->ring_ptr + (size_t)slot * c->slot_bytes;
    }
    c->rx_iov[j].iov_base = dst;
    c->rx_iov[j].iov_len = (size_t)c->max_recv;
    struct msghdr* h = &c->rx_msgs[j].msg_hdr;
    h->msg_name = &c->rx_addr[j];
    h->msg_namelen = sizeof(addr_t);
    h->msg_iov = &c->rx_iov[j];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
  }
  int r;
  do r = recvmmsg(s->fd, c->rx_msgs, (unsigned)k, MSG_DONTWAIT, NULL); while (r < 0 && errno == EINTR);
  c->stats[ST_RX_SYSCALLS]++;
  if (r <= 0) {
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      // A queued ICMP error (ECONNREFUSED...) or worse: read SO_ERROR so it is cleared and
      // level-triggered epoll does not spin on it.
      int e = 0;
      socklen_t el = sizeof e;
      getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);
      c->stats[ST_RX_ERRORS]++;
    }
    return 0;
  }
  for (int j = 0; j < r; j++) {
    int32_t* row = c->rx + (size_t)(base + j) * RX_STRIDE;
    int32_t slot = -1;
    if (avail > 0 && c->rx_iov[j].iov_base != c->scratch) slot = c->stash[avail - 1 - j];
    row[0] = s->id;
    row[1] = slot;
    // A datagram larger than the buffer comes back cut: report a length JS refuses.
    row[2] = (c->rx_msgs[j].msg_hdr.msg_flags & MSG_TRUNC) ? c->max_recv + 1 : (int32_t)c->rx_msgs[j].msg_len;
    ub_put_addr(row, &c->rx_addr[j]);
  }
  if (avail > 0) c->ctl[CTL_STASH] = avail - r;
  c->stats[ST_RX_PACKETS] += r;
  return r;
}

// ------------------------------------------------------------------ send

// Sends tx rows [0, n): one sendmmsg per socket (rows grouped by socket, each socket's rows
// in queue order). txStatus[i] = 0 sent, errno refused (dropped), TX_DEFERRED for EAGAIN
// (kept for EPOLLOUT). Returns how many were deferred.
int ub_flush_rows(ctx_t* c, int n) {
  uint32_t gen = ++c->flush_gen;
  int sockets = 0, deferred = 0;
  for (int i = 0; i < n; i++) {
    const int32_t* row = c->tx + (size_t)i * TX_STRIDE;
    sock_t* s = ub_lookup(c, row[0]);
    uint32_t off = (uint32_t)row[1];
    int32_t len = row[2];
    c->tx_next[i] = -1;
    if (s == NULL) { c->tx_status[i] = EBADF; continue; }
    if (len < 0 || (size_t)off + (size_t)len > c->mem_len) { c->tx_status[i] = EINVAL; continue; }
    if (s->blocked) { c->tx_status[i] = TX_DEFERRED; deferred++; continue; }
    if (s->flush_gen != gen) {
      s->flush_gen = gen;
      s->head = s->tail = i;
      c->tx_order[sockets++] = s;
    } else {
      c->tx_next[s->tail] = i;
      s->tail = i;
    }
  }
  for (int k = 0; k < sockets; k++) {
    sock_t* s = c->tx_order[k];
    int m = 0;
    for (int i = s->head; i >= 0; i = c->tx_next[i], m++) {
      const int32_t* row = c->tx + (size_t)i * TX_STRIDE;
      c->tx_idx[m] = i;
      c->tx_iov[m].iov_base = c->mem + (uint32_t)row[1];
      c->tx_iov[m].iov_len = (size_t)row[2];
      struct msghdr* h = &c->tx_msgs[m].msg_hdr;
      h->msg_name = &c->tx_addr[m];
      h->msg_namelen = ub_get_addr(row, s->family, &c->tx_addr[m]);
      h->msg_iov = &c->tx_iov[m];
      h->msg_iovlen = 1;
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
    }
    int done = 0;
    while (done < m) {
      int r = sendmmsg(s->fd, c->tx_msgs + done, (unsigned)(m - done), MSG_DONTWAIT);
      c->stats[ST_TX_SYSCALLS]++;
      if (r > 0) {
        for (int j = done; j < done + r; j++) c->tx_status[c->tx_idx[j]] = 0;
        c->stats[ST_TX_PACKETS] += r;
        done += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // Socket buffer full: keep the rest queued and ask epoll for writability.
        for (int j = done; j < m; j++) c->tx_status[c->tx_idx[j]] = TX_DEFERRED;
        deferred += m - done;
        c->stats[ST_TX_EAGAIN]++;
        s->blocked = 1;
        ub_epoll_set(c, s, EPOLLIN | EPOLLOUT);
        break;
      }
      // This datagram is refused (no route, EMSGSIZE, EPERM, wrong family): drop it, go on.
      c->tx_status[c->tx_idx[done]] = r < 0 ? errno : EIO;
      c->stats[ST_TX_ERRORS]++;
      done++;
    }
  }
  return deferred;
}

