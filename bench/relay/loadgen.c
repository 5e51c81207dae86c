/*
 * Load generator and sink for bench:relay (driven by bench/relay/loadgen.ts).
 *
 * For N calls it binds, on 127.0.0.1, one sender socket and one receiver socket per call.
 * The sender thread protects RTP with libsrtp2 (12-byte header + 160-byte payload, a
 * distinct SSRC per call, seq +1 and timestamp +160 per packet) and sends at a target
 * aggregate rate: every tick it sends what the clock says is due, round-robin over the
 * calls, with one sendmmsg per call. The receiver thread recvmmsg()s every receiver socket,
 * unprotects with libsrtp2 (or reads plain RTP), and records loss and latency.
 *
 * Latency: the sender writes CLOCK_REALTIME into the payload just before protecting; the
 * receiver takes the kernel's receive timestamp (SO_TIMESTAMPNS, also CLOCK_REALTIME), so
 * the sink's own scheduling delay is not counted. What remains of the generator's own share
 * (protecting the rest of a batch, the syscall, loopback) is the baseline the driver
 * measures on a direct sender -> receiver path and subtracts.
 *
 * Control: line commands on stdin, one JSON line per reply on stdout.
 *   calls <n>                                  bind; reply {"ports":[[send,recv],...]}
 *   tx <i> <dstPort> <ssrc> <suite> <hex>      sender of call i: destination and key||salt
 *   rx <i> <suite|none> <hex|->                receiver of call i: key||salt or plain RTP
 *   trial <pps> <ms> <warmupMs> <drainMs> <forgeEvery>
 *                                              run one trial; reply with its counters
 *   quit
 * forgeEvery > 0: before every forgeEvery-th packet of a call (never its first), also send a forged copy
 * (one ciphertext bit flipped). A relay that authenticates drops it; one that forwards SRTP
 * unverified delivers it, and the sink counts it as an authentication failure (or, on a
 * plain-RTP leg, as a payload with a bad magic).
 * "late" counts packets received more than 50 ms after they were sent (warm-up included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <srtp2/srtp.h>

#define MAX_CALLS 4096
#define HDR_LEN 12
#define PAYLOAD_LEN 160
#define PKT_LEN (HDR_LEN + PAYLOAD_LEN)
#define BUF_LEN (PKT_LEN + SRTP_MAX_TRAILER_LEN + 64)
/* Packets protected before one sendmmsg: bounds how long the first of them waits (its
 * timestamp is taken before its protect) to a few microseconds per packet. */
#define SEND_CHUNK 16
#define RECV_BATCH 64
/* A timed sleep costs ~20 us of CPU on these VMs; 2000 ticks/s keeps that near 4% of a
 * core while a tick's batch at the rates measured stays around 10-30 packets. */
#define TICK_NS 500000L
/* After a stall the sender catches up by at most this much; the rest is counted "behind". */
#define MAX_CATCHUP_NS 20000000L
/* Latency histogram: 1 us buckets up to 100 ms, then one overflow bucket. */
#define HIST_BUCKETS 100000
#define SOCK_BUF_BYTES (4 << 20)
/* A packet this late is as good as lost to a jitter buffer; the driver counts it with loss. */
#define LATE_NS 50000000LL
#define MAGIC 0x53474231u /* "SGB1" */

enum suite { SUITE_NONE = 0, SUITE_80, SUITE_32 };

struct call {
  int send_fd, recv_fd;
  uint16_t send_port, recv_port;
  struct sockaddr_in dst;
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  uint32_t trial_seq;
  srtp_t tx; /* protects what this call sends */
  srtp_t rx; /* unprotects what the relay delivers; NULL on a plain-RTP leg */
  int rx_configured;
  uint32_t ovfl_seen; /* last SO_RXQ_OVFL value seen on the receiver socket */
  uint32_t due;       /* packets to send in the current tick */
};

/* Per-trial counters, written by the receiver thread under `lock`. */
struct rx_stats {
  uint64_t received, late, stale, auth_fail, other_fail, bad_payload, sink_overflow;
  uint64_t samples;
  uint64_t max_ns;
  uint32_t hist[HIST_BUCKETS + 1];
};

static struct call calls[MAX_CALLS];
static int ncalls;
static int epfd = -1;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct rx_stats rxs;
static uint32_t cur_trial;       /* under lock */
static int64_t warm_mark_ns;     /* realtime ns; samples before it are not timed (under lock) */

/* Trial parameters handed to the sender thread. */
static struct {
  int go, done;
  double rate;
  int64_t dur_ns;
  uint32_t forge_every;
  /* results */
  uint64_t sent, forged, behind, send_errors;
  double elapsed_s;
} tx_job;

static pthread_t sender_thread, receiver_thread;
static volatile int stopping;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static int64_t now_ns(clockid_t clk) {
  struct timespec t;
  clock_gettime(clk, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static double thread_cpu_s(pthread_t th) {
  clockid_t clk;
  if (pthread_getcpuclockid(th, &clk) != 0) return 0;
  return (double)now_ns(clk) / 1e9;
}

static double process_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put64(uint8_t *p, uint64_t v) { put32(p, v >> 32); put32(p + 4, (uint32_t)v); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static int open_udp(uint16_t *port_out) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  int sz = SOCK_BUF_BYTES;
  /* FORCE variants need CAP_NET_ADMIN; fall back to what rmem_max/wmem_max allow. The
   * sink must not be where packets are lost, so it asks for as much as it can get. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind: %s", strerror(errno));
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port_out = ntohs(a.sin_port);
  return fd;
}

static int parse_suite(const char *s) {
  if (strcmp(s, "AES_CM_128_HMAC_SHA1_80") == 0) return SUITE_80;
  if (strcmp(s, "AES_CM_128_HMAC_SHA1_32") == 0) return SUITE_32;
  if (strcmp(s, "none") == 0) return SUITE_NONE;
  return -1;
}

static int unhex(const char *hex, uint8_t *out, size_t n) {
  if (strlen(hex) != 2 * n) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

static srtp_t make_session(int suite, const char *hex, int inbound, uint32_t ssrc) {
  uint8_t key[SRTP_AES_ICM_128_KEY_LEN_WSALT];
  if (unhex(hex, key, sizeof key) < 0) die("bad key hex");
  srtp_policy_t p;
  memset(&p, 0, sizeof p);
  if (suite == SUITE_80) srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
  else srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
  if (inbound) p.ssrc.type = ssrc_any_inbound;
  else { p.ssrc.type = ssrc_specific; p.ssrc.value = ssrc; }
  p.key = key;
  /* Loopback delivers in order, but a relay with several threads may not; the default
   * window (128) is plenty for that. */
  p.window_size = 1024;
  srtp_t s;
  srtp_err_status_t st = srtp_create(&s, &p);
  memset(key, 0, sizeof key);
  if (st != srtp_err_status_ok) die("srtp_create: %d", st);
  return s;
}

/* ------------------------------------------------------------------ sender */

static void fill_packet(struct call *c, uint8_t *b, uint32_t trial, uint32_t call_idx) {
  b[0] = 0x80;
  b[1] = 0; /* PCMU */
  b[2] = c->seq >> 8; b[3] = c->seq & 0xff;
  put32(b + 4, c->ts);
  put32(b + 8, c->ssrc);
  uint8_t *p = b + HDR_LEN;
  put32(p, MAGIC);
  put32(p + 4, trial);
  put32(p + 8, call_idx);
  put32(p + 12, c->trial_seq);
  put64(p + 16, (uint64_t)now_ns(CLOCK_REALTIME));
  memset(p + 24, 0xd5, PAYLOAD_LEN - 24); /* PCMU silence */
  c->seq++;
  c->ts += 160;
  c->trial_seq++;
}

/* Sends `n` packets of call `ci` in chunks of SEND_CHUNK; returns how many went out. */
static uint64_t send_call(int ci, uint32_t n, uint32_t trial, uint32_t forge_every, uint64_t *forged, uint64_t *errors) {
  static uint8_t bufs[2 * SEND_CHUNK][BUF_LEN];
  static struct mmsghdr msgs[2 * SEND_CHUNK];
  static struct iovec iov[2 * SEND_CHUNK];
  struct call *c = &calls[ci];
  uint64_t sent = 0;
  while (n > 0) {
    uint32_t chunk = n < SEND_CHUNK ? n : SEND_CHUNK;
    int m = 0;
    uint32_t genuine = 0;
    for (uint32_t k = 0; k < chunk; k++) {
      /* Never before a call's first genuine packets: the relay has latched its peer by then,
       * so the probe asks "is a forged packet from the peer forwarded?" and does not trip
       * per-source bans meant for strangers (srtpgate bans an address after 50 failures). */
      int forge = forge_every > 0 && c->trial_seq % forge_every == forge_every - 1;
      uint8_t *b = bufs[m + forge];
      fill_packet(c, b, trial, (uint32_t)ci);
      int len = PKT_LEN;
      srtp_err_status_t st = srtp_protect(c->tx, b, &len);
      if (st != srtp_err_status_ok) die("srtp_protect: %d", st);
      if (forge) {
        /* The forged copy goes first, so a relay that authenticates drops it and then
         * still accepts the genuine packet with the same index. */
        memcpy(bufs[m], b, (size_t)len);
        bufs[m][HDR_LEN] ^= 0x01;
        iov[m].iov_base = bufs[m];
        iov[m].iov_len = (size_t)len;
        m++;
        (*forged)++;
      }
      iov[m].iov_base = b;
      iov[m].iov_len = (size_t)len;
      m++;
      genuine++;
    }
    for (int k = 0; k < m; k++) {
      memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_name = &c->dst;
      msgs[k].msg_hdr.msg_namelen = sizeof c->dst;
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    int off = 0;
    while (off < m) {
      int r = sendmmsg(c->send_fd, msgs + off, (unsigned)(m - off), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        /* ENOBUFS / ECONNREFUSED (ICMP from a port nobody listens on yet): that datagram
         * is lost, count it and move on. */
        (*errors)++;
        off++;
        continue;
      }
      off += r;
    }
    sent += genuine;
    n -= chunk;
  }
  return sent;
}

static void *sender_main(void *arg) {
  (void)arg;
  /* The default 50 us timer slack would stretch every tick by 10%. */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  int rr = 0;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (!tx_job.go && !stopping) pthread_cond_wait(&cond, &lock);
    if (stopping) { pthread_mutex_unlock(&lock); return NULL; }
    tx_job.go = 0;
    double rate = tx_job.rate;
    int64_t dur = tx_job.dur_ns;
    uint32_t forge_every = tx_job.forge_every;
    uint32_t trial = cur_trial;
    pthread_mutex_unlock(&lock);

    for (int i = 0; i < ncalls; i++) calls[i].trial_seq = 0;
    uint64_t sent = 0, forged = 0, behind = 0, errors = 0, scheduled = 0;
    int64_t start = now_ns(CLOCK_MONOTONIC);
    int64_t next = start;
    for (;;) {
      int64_t now = now_ns(CLOCK_MONOTONIC);
      int64_t elapsed = now - start;
      if (elapsed >= dur) elapsed = dur;
      uint64_t target = (uint64_t)(rate * (double)elapsed / 1e9);
      uint64_t catchup_max = (uint64_t)(rate * MAX_CATCHUP_NS / 1e9) + 1;
      if (target - scheduled > catchup_max) {
        behind += target - scheduled - catchup_max;
        scheduled = target - catchup_max;
      }
      uint32_t due = (uint32_t)(target - scheduled);
      scheduled = target;
      /* Round-robin over the calls, then one sendmmsg per call with something due. */
      if (due > 0) {
        if ((int)due >= ncalls) {
          uint32_t each = due / (uint32_t)ncalls;
          for (int i = 0; i < ncalls; i++) calls[i].due += each;
          due -= each * (uint32_t)ncalls;
        }
        while (due-- > 0) { calls[rr].due++; rr = (rr + 1) % ncalls; }
        for (int k = 0; k < ncalls; k++) {
          struct call *c = &calls[k];
          if (c->due == 0) continue;
          sent += send_call(k, c->due, trial, forge_every, &forged, &errors);
          c->due = 0;
        }
      }
      if (elapsed >= dur) break;
      next += TICK_NS;
      if (next < now) next = now; /* late: do not try to replay missed ticks one by one */
      struct timespec ts = { .tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL };
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
    }
    double elapsed_s = (double)(now_ns(CLOCK_MONOTONIC) - start) / 1e9;

    pthread_mutex_lock(&lock);
    tx_job.sent = sent;
    tx_job.forged = forged;
    tx_job.behind = behind;
    tx_job.send_errors = errors;
    tx_job.elapsed_s = elapsed_s;
    tx_job.done = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
  }
}

/* ---------------------------------------------------------------- receiver */

static void handle_packet(struct call *c, uint8_t *b, int len, int64_t rx_ns, uint32_t trial, int64_t warm_mark) {
  if (c->rx) {
    srtp_err_status_t st = srtp_unprotect(c->rx, b, &len);
    if (st == srtp_err_status_auth_fail) { rxs.auth_fail++; return; }
    if (st != srtp_err_status_ok) { rxs.other_fail++; return; }
  }
  if (len < PKT_LEN || (b[0] & 0xc0) != 0x80) { rxs.bad_payload++; return; }
  int off = HDR_LEN + 4 * (b[0] & 0x0f);
  if (b[0] & 0x10) { /* header extension: skip it (a relay may add one) */
    if (len < off + 4) { rxs.bad_payload++; return; }
    off += 4 + 4 * ((b[off + 2] << 8) | b[off + 3]);
  }
  if (len < off + 24) { rxs.bad_payload++; return; }
  const uint8_t *p = b + off;
  if (get32(p) != MAGIC) { rxs.bad_payload++; return; }
  if (get32(p + 4) != trial) { rxs.stale++; return; }
  rxs.received++;
  int64_t sent_ns = (int64_t)get64(p + 16);
  int64_t d = rx_ns - sent_ns;
  if (d < 0) d = 0;
  if (d > LATE_NS) rxs.late++;
  if (sent_ns < warm_mark) return;
  if ((uint64_t)d > rxs.max_ns) rxs.max_ns = (uint64_t)d;
  int64_t us = d / 1000;
  rxs.hist[us < HIST_BUCKETS ? us : HIST_BUCKETS]++;
  rxs.samples++;
}

static void *receiver_main(void *arg) {
  (void)arg;
  static uint8_t bufs[RECV_BATCH][BUF_LEN];
  static char ctl[RECV_BATCH][CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
  static struct mmsghdr msgs[RECV_BATCH];
  static struct iovec iov[RECV_BATCH];
  struct epoll_event evs[128];
  while (!stopping) {
    int n = epoll_wait(epfd, evs, 128, 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait: %s", strerror(errno));
    }
    for (int e = 0; e < n; e++) {
      struct call *c = &calls[evs[e].data.u32];
      for (;;) {
        for (int k = 0; k < RECV_BATCH; k++) {
          iov[k].iov_base = bufs[k];
          iov[k].iov_len = BUF_LEN;
          memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
          msgs[k].msg_hdr.msg_iov = &iov[k];
          msgs[k].msg_hdr.msg_iovlen = 1;
          msgs[k].msg_hdr.msg_control = ctl[k];
          msgs[k].msg_hdr.msg_controllen = sizeof ctl[k];
        }
        int r = recvmmsg(c->recv_fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0) break;
        pthread_mutex_lock(&lock);
        uint32_t trial = cur_trial;
        int64_t warm = warm_mark_ns;
        for (int k = 0; k < r; k++) {
          int64_t rx_ns = 0;
          for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[k].msg_hdr); cm; cm = CMSG_NXTHDR(&msgs[k].msg_hdr, cm)) {
            if (cm->cmsg_level != SOL_SOCKET) continue;
            if (cm->cmsg_type == SCM_TIMESTAMPNS) {
              struct timespec t;
              memcpy(&t, CMSG_DATA(cm), sizeof t);
              rx_ns = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
            } else if (cm->cmsg_type == SO_RXQ_OVFL) {
              uint32_t o;
              memcpy(&o, CMSG_DATA(cm), sizeof o);
              if (o != c->ovfl_seen) { rxs.sink_overflow += (uint32_t)(o - c->ovfl_seen); c->ovfl_seen = o; }
            }
          }
          if (rx_ns == 0) rx_ns = now_ns(CLOCK_REALTIME);
          handle_packet(c, bufs[k], (int)msgs[k].msg_len, rx_ns, trial, warm);
        }
        pthread_mutex_unlock(&lock);
        if (r < RECV_BATCH) break;
      }
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ control */

static double percentile_us(const struct rx_stats *s, double q) {
  if (s->samples == 0) return -1;
  uint64_t rank = (uint64_t)(q * (double)(s->samples - 1)) + 1, acc = 0;
  for (int i = 0; i <= HIST_BUCKETS; i++) {
    acc += s->hist[i];
    if (acc >= rank) return i + 0.5;
  }
  return HIST_BUCKETS;
}

static void cmd_calls(int n) {
  if (ncalls > 0) die("calls given twice");
  if (n < 1 || n > MAX_CALLS) die("calls: 1..%d", MAX_CALLS);
  epfd = epoll_create1(0);
  for (int i = 0; i < n; i++) {
    struct call *c = &calls[i];
    memset(c, 0, sizeof *c);
    c->send_fd = open_udp(&c->send_port);
    c->recv_fd = open_udp(&c->recv_port);
    int on = 1;
    setsockopt(c->recv_fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    setsockopt(c->recv_fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->recv_fd, &ev);
  }
  ncalls = n;
  printf("{\"ports\":[");
  for (int i = 0; i < n; i++) printf("%s[%u,%u]", i ? "," : "", calls[i].send_port, calls[i].recv_port);
  printf("]}\n");
  fflush(stdout);
  pthread_create(&receiver_thread, NULL, receiver_main, NULL);
  pthread_create(&sender_thread, NULL, sender_main, NULL);
}

static void cmd_tx(int i, int port, uint32_t ssrc, const char *suite, const char *hex) {
  if (i < 0 || i >= ncalls) die("tx: bad call %d", i);
  int s = parse_suite(suite);
  if (s <= 0) die("tx: suite %s", suite);
  struct call *c = &calls[i];
  if (c->tx) srtp_dealloc(c->tx);
  c->tx = make_session(s, hex, 0, ssrc);
  c->ssrc = ssrc;
  c->seq = (uint16_t)(ssrc * 2654435761u >> 16); /* arbitrary start, as a real sender's */
  c->ts = ssrc * 40503u;
  memset(&c->dst, 0, sizeof c->dst);
  c->dst.sin_family = AF_INET;
  c->dst.sin_port = htons((uint16_t)port);
  c->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  printf("{\"ok\":true}\n");
  fflush(stdout);
}

static void cmd_rx(int i, const char *suite, const char *hex) {
  if (i < 0 || i >= ncalls) die("rx: bad call %d", i);
  int s = parse_suite(suite);
  if (s < 0) die("rx: suite %s", suite);
  struct call *c = &calls[i];
  pthread_mutex_lock(&lock);
  if (c->rx) srtp_dealloc(c->rx);
  c->rx = s == SUITE_NONE ? NULL : make_session(s, hex, 1, 0);
  c->rx_configured = 1;
  pthread_mutex_unlock(&lock);
  printf("{\"ok\":true}\n");
  fflush(stdout);
}

static void cmd_trial(double rate, int ms, int warm_ms, int drain_ms, uint32_t forge_every) {
  if (ncalls == 0) die("trial before calls");
  for (int i = 0; i < ncalls; i++) if (!calls[i].tx || !calls[i].rx_configured) die("trial: call %d not configured", i);
  double gen0 = thread_cpu_s(sender_thread), sink0 = thread_cpu_s(receiver_thread), proc0 = process_cpu_s();

  pthread_mutex_lock(&lock);
  cur_trial++;
  memset(&rxs, 0, sizeof rxs);
  warm_mark_ns = now_ns(CLOCK_REALTIME) + (int64_t)warm_ms * 1000000LL;
  tx_job.rate = rate;
  tx_job.dur_ns = (int64_t)ms * 1000000LL;
  tx_job.forge_every = forge_every;
  tx_job.done = 0;
  tx_job.go = 1;
  pthread_cond_broadcast(&cond);
  while (!tx_job.done) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);

  double gen1 = thread_cpu_s(sender_thread);
  struct timespec d = { .tv_sec = drain_ms / 1000, .tv_nsec = (long)(drain_ms % 1000) * 1000000L };
  nanosleep(&d, NULL);

  static struct rx_stats snap;
  pthread_mutex_lock(&lock);
  snap = rxs;
  cur_trial++; /* whatever still arrives belongs to no trial */
  pthread_mutex_unlock(&lock);
  double sink1 = thread_cpu_s(receiver_thread), proc1 = process_cpu_s();

  uint64_t sent = tx_job.sent;
  double loss = sent ? 100.0 * ((double)sent - (double)snap.received) / (double)sent : 0;
  printf("{\"rate\":%.0f,\"achievedRate\":%.1f,\"seconds\":%.3f,\"sent\":%llu,\"received\":%llu,\"late\":%llu,\"lossPct\":%.4f,"
         "\"p50Us\":%.1f,\"p99Us\":%.1f,\"p999Us\":%.1f,\"maxUs\":%.1f,\"samples\":%llu,"
         "\"stale\":%llu,\"authFail\":%llu,\"otherFail\":%llu,\"badPayload\":%llu,\"sinkOverflow\":%llu,"
         "\"forgedSent\":%llu,\"behind\":%llu,\"sendErrors\":%llu,"
         "\"genCpuS\":%.4f,\"sinkCpuS\":%.4f,\"procCpuS\":%.4f}\n",
         rate, tx_job.elapsed_s > 0 ? (double)sent / tx_job.elapsed_s : 0, tx_job.elapsed_s,
         (unsigned long long)sent, (unsigned long long)snap.received, (unsigned long long)snap.late, loss,
         percentile_us(&snap, 0.50), percentile_us(&snap, 0.99), percentile_us(&snap, 0.999),
         snap.samples ? (double)snap.max_ns / 1000.0 : -1.0, (unsigned long long)snap.samples,
         (unsigned long long)snap.stale, (unsigned long long)snap.auth_fail, (unsigned long long)snap.other_fail,
         (unsigned long long)snap.bad_payload, (unsigned long long)snap.sink_overflow,
         (unsigned long long)tx_job.forged, (unsigned long long)tx_job.behind, (unsigned long long)tx_job.send_errors,
         gen1 - gen0, sink1 - sink0, proc1 - proc0);
  fflush(stdout);
}

int main(void) {
  srtp_err_status_t st = srtp_init();
  if (st != srtp_err_status_ok) die("srtp_init: %d", st);
  char line[512];
  while (fgets(line, sizeof line, stdin)) {
    char cmd[16], a[128], b[128];
    int i, port, ms, warm, drain;
    unsigned ssrc, forge;
    double rate;
    if (sscanf(line, "%15s", cmd) != 1) continue;
    if (strcmp(cmd, "calls") == 0 && sscanf(line, "calls %d", &i) == 1) cmd_calls(i);
    else if (strcmp(cmd, "tx") == 0 && sscanf(line, "tx %d %d %u %127s %127s", &i, &port, &ssrc, a, b) == 5) cmd_tx(i, port, ssrc, a, b);
    else if (strcmp(cmd, "rx") == 0 && sscanf(line, "rx %d %127s %127s", &i, a, b) == 3) cmd_rx(i, a, b);
    else if (strcmp(cmd, "trial") == 0 && sscanf(line, "trial %lf %d %d %d %u", &rate, &ms, &warm, &drain, &forge) == 5) cmd_trial(rate, ms, warm, drain, forge);
    else if (strcmp(cmd, "quit") == 0) break;
    else die("bad command: %s", line);
  }
  pthread_mutex_lock(&lock);
  stopping = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  if (ncalls > 0) {
    pthread_join(sender_thread, NULL);
    pthread_join(receiver_thread, NULL);
  }
  for (int i = 0; i < ncalls; i++) {
    if (calls[i].tx) srtp_dealloc(calls[i].tx);
    if (calls[i].rx) srtp_dealloc(calls[i].rx);
    close(calls[i].send_fd);
    close(calls[i].recv_fd);
  }
  srtp_shutdown();
  return 0;
}
