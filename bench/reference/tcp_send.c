/*
 * The C reference for loopback TCP: a loop of blocking send() calls from one reused buffer into
 * the bench's sink (bench/sink_server.ts), default socket options. After the last chunk it
 * half-closes and reads the sink's answer, the byte count it received (a little-endian float64),
 * and reports that count.
 *
 * Usage: tcp_send PORT SIZE COUNT
 */
#include "reference.h"

int main(int argc, char **argv) {
  struct args a = parse_args(argc, argv, 1, "");
  char *buf = malloc(a.size);
  if (buf == NULL) die("malloc");
  memset(buf, 0x5a, a.size);
  double started = now_ns();
  int fd = connect_loopback(SOCK_STREAM, a.port);
  for (long i = 0; i < a.count; i++) {
    for (size_t off = 0; off < a.size;) {
      ssize_t n = send(fd, buf + off, a.size - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("send");
      }
      off += (size_t)n;
    }
  }
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
  return 0;
}
