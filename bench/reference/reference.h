/*
 * What the reference senders share: their arguments, the connected socket to 127.0.0.1, the
 * clock, the guard that keeps UDP senders inside the benchmark's own network namespace, and the
 * one line of JSON each prints: {"bytes": sent, "ns": from socket() to the last completion,
 * "copiedSends": sends the kernel reported as copied (zero-copy senders; -1 for the others),
 * "cpuNs": the process's CPU time, user + system (getrusage), until then}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct args {
  int port;
  size_t size;
  long count;
};

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}

static inline double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* argv[first..first+2]: port, chunk size in bytes, chunk count. */
static inline struct args parse_args(int argc, char **argv, int first, const char *usage) {
  if (argc != first + 3) {
    fprintf(stderr, "usage: %s %s PORT SIZE COUNT\n", argv[0], usage);
    exit(2);
  }
  struct args a = {atoi(argv[first]), (size_t)atol(argv[first + 1]), atol(argv[first + 2])};
  if (a.port <= 0 || a.port > 65535 || a.size == 0 || a.count <= 0) {
    fprintf(stderr, "%s: bad PORT, SIZE or COUNT\n", argv[0]);
    exit(2);
  }
  return a;
}

/* A socket of `type` connected to 127.0.0.1:port. */
static inline int connect_loopback(int type, int port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  return fd;
}

/* Refuses to run unless this process is in a network namespace other than the one the bench
 * started in (ZCIO_PARENT_NETNS, set by bench/blackhole_netns.ts): datagrams go only to a
 * blackhole the bench made itself. */
static inline void assert_in_blackhole(void) {
  char own[64] = {0};
  const char *parent = getenv("ZCIO_PARENT_NETNS");
  if (readlink("/proc/self/ns/net", own, sizeof own - 1) < 0) die("readlink /proc/self/ns/net");
  if (parent == NULL || strcmp(parent, own) == 0) {
    fprintf(stderr, "not in a private network namespace (%s); refusing to send\n", own);
    exit(1);
  }
}

static inline void report(long long bytes, double ns, long long copied_sends) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) < 0) die("getrusage");
  double cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
  printf("{\"bytes\":%lld,\"ns\":%.0f,\"copiedSends\":%lld,\"cpuNs\":%.0f}\n", bytes, ns, copied_sends, cpu_ns);
}

/* Ends a TCP sender's run: half-closes `fd`, reads the sink's answer (the byte count it received,
 * a little-endian float64), and reports that count with the time since `started`. */
static inline void finish_tcp(int fd, double started) {
  if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
  unsigned char answer[8];
  size_t got = 0;
  while (got < sizeof answer) {
    ssize_t n = recv(fd, answer + got, sizeof answer - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("recv (the sink's count)");
    got += (size_t)n;
  }
  double elapsed = now_ns() - started;
  close(fd);
  double counted;
  memcpy(&counted, answer, sizeof counted); /* x86_64 is little-endian, as the sink writes it */
  report((long long)counted, elapsed, -1);
}
