/*
 * The C reference for sending a file over loopback TCP: a loop of blocking sendfile(2) calls that
 * send all of FILE into the bench's sink (bench/sink_server.ts), default socket options. Then it
 * reports the byte count the sink answers with (finish_tcp). Used by bench/send_file_bench.ts.
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
  finish_tcp(fd, started);
  return 0;
}
