// udpload: load generator and sink for bench/io.bench.ts, in C so that the generator is not
// what limits the rate being measured.
//
//   udpload <dest_port>[,<dest_port>...] <rate_pps> <seconds> <size>
//
// Binds a sink on 127.0.0.1 (ephemeral port), prints "sink <port>", waits for a line on
// stdin, then sends `rate` RTP-shaped datagrams per second (v=2, PT 0, rising seq) of `size`
// bytes to 127.0.0.1:<dest_port> (round robin over several) for `seconds`, paced in
// sendmmsg batches of up to 32,
// while a second thread counts what arrives at the sink. Ends with
// "sent <n> received <m> send_errors <e> send_seconds <s> timely <t>" once the sink has been
// quiet for 300 ms (send_seconds > seconds: the generator could not keep the rate; timely:
// received within 100 ms of the last send).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define SOCKBUF (4 << 20)

static atomic_long received;
static atomic_int sending_done;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void* sink_main(void* arg) {
  int fd = *(int*)arg;
  static char bufs[64][2048];
  struct mmsghdr msgs[64];
  struct iovec iov[64];
  double quiet_since = 0;
  for (;;) {
    for (int i = 0; i < 64; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct timespec timeout = { 0, 50 * 1000 * 1000 };
    int r = recvmmsg(fd, msgs, 64, MSG_WAITFORONE, &timeout);
    if (r > 0) { atomic_fetch_add(&received, r); quiet_since = 0; continue; }
    // SO_RCVTIMEO bounds the wait, so the quiet period is seen even with no traffic.
    if (atomic_load(&sending_done)) {
      double t = now_s();
      if (quiet_since == 0) quiet_since = t;
      else if (t - quiet_since > 0.3) return NULL;
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 5) { fprintf(stderr, "usage: udpload <dest_port>[,<dest_port>...] <rate_pps> <seconds> <size>\n"); return 2; }
  static struct sockaddr_in dests[4096];
  int ndest = 0;
  for (char* p = argv[1]; *p != '\0' && ndest < 4096;) {
    char* end;
    long port = strtol(p, &end, 10);
    if (end == p || port <= 0 || port > 65535) { fprintf(stderr, "udpload: bad port list\n"); return 2; }
    dests[ndest].sin_family = AF_INET;
    dests[ndest].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dests[ndest++].sin_port = htons((uint16_t)port);
    p = *end == ',' ? end + 1 : end;
  }
  int dest_port = ndest > 0 ? ntohs(dests[0].sin_port) : 0;
  double rate = atof(argv[2]), seconds = atof(argv[3]);
  int size = atoi(argv[4]);
  if (dest_port <= 0 || dest_port > 65535 || rate <= 0 || seconds <= 0 || size < 12 || size > 2048) {
    fprintf(stderr, "udpload: bad arguments\n");
    return 2;
  }
  int bufsz = SOCKBUF;
  struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

  int sink = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
  struct timeval tv = { 0, 100 * 1000 };
  setsockopt(sink, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (bind(sink, (struct sockaddr*)&lo, sizeof lo) < 0) { perror("bind"); return 1; }
  struct sockaddr_in bound;
  socklen_t bl = sizeof bound;
  getsockname(sink, (struct sockaddr*)&bound, &bl);

  int out = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(out, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
  // One destination: a connected socket (cheapest); several: an address per datagram.
  if (ndest == 1 && connect(out, (struct sockaddr*)&dests[0], sizeof dests[0]) < 0) { perror("connect"); return 1; }

  printf("sink %d\n", ntohs(bound.sin_port));
  fflush(stdout);
  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL) return 1;

  pthread_t th;
  pthread_create(&th, NULL, sink_main, &sink);

  static uint8_t pkts[BATCH][2048];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    memset(pkts[i], 0xab, (size_t)size);
    pkts[i][0] = 0x80;  // RTP v2
    pkts[i][1] = 0;     // PT 0 (not an RTCP type)
    pkts[i][8] = 0x12; pkts[i][9] = 0x34; pkts[i][10] = 0x56; pkts[i][11] = 0x78;  // SSRC
    iov[i].iov_base = pkts[i];
    iov[i].iov_len = (size_t)size;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long target = (long)(rate * seconds), sent = 0, errors = 0;
  double start = now_s();
  while (sent < target) {
    double t = now_s() - start;
    long due = (long)(rate * t) - sent;
    if (due > target - sent) due = target - sent;
    if (due <= 0) {
      struct timespec ts = { 0, 50 * 1000 };  // ahead of schedule: nap 50 µs
      nanosleep(&ts, NULL);
      continue;
    }
    int n = due > BATCH ? BATCH : (int)due;
    for (int i = 0; i < n; i++) {
      if (ndest > 1) {
        msgs[i].msg_hdr.msg_name = &dests[(sent + i) % ndest];
        msgs[i].msg_hdr.msg_namelen = sizeof dests[0];
      }
      uint16_t seq = (uint16_t)(sent + i);
      uint32_t ts32 = (uint32_t)((sent + i) * 160);
      pkts[i][2] = (uint8_t)(seq >> 8); pkts[i][3] = (uint8_t)seq;
      pkts[i][4] = (uint8_t)(ts32 >> 24); pkts[i][5] = (uint8_t)(ts32 >> 16);
      pkts[i][6] = (uint8_t)(ts32 >> 8); pkts[i][7] = (uint8_t)ts32;
    }
    int r = sendmmsg(out, msgs, (unsigned)n, 0);
    if (r > 0) sent += r;
    else { errors++; sent += n; }  // counted as sent: a refused datagram is a loss like any other
    // A send that keeps failing (e.g. ECONNREFUSED: nobody listens) must not spin forever.
    if (r < 0 && errno != ECONNREFUSED && errno != ENOBUFS && errno != EAGAIN) { perror("sendmmsg"); break; }
  }
  double send_seconds = now_s() - start;
  // What arrived within 100 ms of the last send: a forwarder that falls behind and drains a
  // deep socket buffer later is not keeping up, even if nothing is lost in the end.
  struct timespec grace = { 0, 100 * 1000 * 1000 };
  nanosleep(&grace, NULL);
  long timely = atomic_load(&received);
  atomic_store(&sending_done, 1);
  pthread_join(th, NULL);
  printf("sent %ld received %ld send_errors %ld send_seconds %.4f timely %ld\n", sent, atomic_load(&received), errors, send_seconds, timely);
  return 0;
}
