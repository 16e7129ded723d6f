/*
 * The C reference for sending a file over loopback TCP: a loop of blocking sendfile(2) calls that
 * send all of FILE into the bench's sink (bench/sink_server.ts), default socket options. Then it
 * half-closes, reads the sink's answer (the byte count it received, a little-endian float64) and
 * reports that count. Used by bench/send_file_bench.ts.
 *
 * Usage: tcp_sendfile PORT FILE
 */
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "reference.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PORT FILE\n", argv[0]);
    return 2;
  }
  int file = open(argv[2], O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (file < 0 || fstat(file, &st) < 0) die(argv[2]);
  double started = now_ns();
  int fd = connect_loopback(SOCK_STREAM, atoi(argv[1]));
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = sendfile(fd, file, &off, st.st_size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("sendfile");
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
