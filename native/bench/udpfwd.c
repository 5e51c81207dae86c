// udpfwd: the C reference forwarder for bench/io.bench.ts (the ceiling the Node backends are
// compared with): recvmmsg up to 64 datagrams, sendmmsg them to the sink, blocking, one thread.
//
// Binds 127.0.0.1 (ephemeral), prints "port <n>", reads the sink port from stdin, forwards
// until stdin closes, then prints "forwarded <n> cpu_us <user+system> user_us <user>".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

int main(void) {
  int bufsz = 4 << 20;
  struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  int in = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(in, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
  if (bind(in, (struct sockaddr*)&lo, sizeof lo) < 0) { perror("bind"); return 1; }
  struct sockaddr_in bound;
  socklen_t bl = sizeof bound;
  getsockname(in, (struct sockaddr*)&bound, &bl);
  int out = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(out, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
  printf("port %d\n", ntohs(bound.sin_port));
  fflush(stdout);
  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL) return 1;
  struct sockaddr_in sink = lo;
  sink.sin_port = htons((uint16_t)atoi(line));

  static char bufs[BATCH][2048];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  long forwarded = 0;
  struct pollfd pfd[2] = { { .fd = in, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
  for (;;) {
    if (poll(pfd, 2, -1) < 0) continue;
    if (pfd[1].revents) break;  // stdin closed or written: stop
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(in, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r <= 0) continue;
    for (int i = 0; i < r; i++) {
      iov[i].iov_len = msgs[i].msg_len;
      msgs[i].msg_hdr.msg_name = &sink;
      msgs[i].msg_hdr.msg_namelen = sizeof sink;
    }
    int s = sendmmsg(out, msgs, (unsigned)r, 0);
    if (s > 0) forwarded += s;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long cpu = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
  long user = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
  printf("forwarded %ld cpu_us %ld user_us %ld\n", forwarded, cpu, user);
  return 0;
}
