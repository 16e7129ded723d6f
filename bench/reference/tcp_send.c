/*
 * The C reference for loopback TCP: a loop of blocking send() calls from one reused buffer into
 * the bench's sink (bench/sink_server.ts), default socket options. After the last chunk it
 * reports the byte count the sink answers with (finish_tcp).
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
  finish_tcp(fd, started);
  return 0;
}
