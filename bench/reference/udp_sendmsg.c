/*
 * The C references for the UDP blackhole that use sendmsg(): one reused buffer, one datagram per
 * call, to 127.0.0.1:PORT (only inside the bench's own network namespace).
 *
 * - copy: plain sendmsg().
 * - zerocopy: SO_ZEROCOPY and sendmsg(MSG_ZEROCOPY); every 32 sends it reads the error queue
 *   without blocking (MSG_ERRQUEUE | MSG_DONTWAIT), and on ENOBUFS (option memory full) it waits
 *   for POLLERR and reads it before sending again. It ends once every send is notified.
 *
 * Usage: udp_sendmsg copy|zerocopy PORT SIZE COUNT
 */
#include "reference.h"
#include <linux/errqueue.h>
#include <poll.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

#define REAP_EVERY 32

static long long notified, copied;

/* Reads every notification queued on fd's error queue; returns how many sends they covered. */
static long long reap(int fd) {
  long long before = notified;
  for (;;) {
    char control[128];
    struct msghdr m = {.msg_control = control, .msg_controllen = sizeof control};
    if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN) return notified - before;
      if (errno == EINTR) continue;
      die("recvmsg(MSG_ERRQUEUE)");
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR) continue;
      struct sock_extended_err e;
      memcpy(&e, CMSG_DATA(c), sizeof e);
      if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY) continue;
      long long range = (long long)(unsigned)(e.ee_data - e.ee_info) + 1;
      notified += range;
      if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) copied += range;
    }
  }
}

/* Waits for POLLERR (a notification queued) and reads the error queue. */
static void wait_and_reap(int fd) {
  struct pollfd p = {.fd = fd, .events = 0};
  int r = poll(&p, 1, 5000);
  if (r < 0 && errno != EINTR) die("poll");
  if (r == 0) {
    fprintf(stderr, "no zero-copy notification within 5 s\n");
    exit(1);
  }
  reap(fd);
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "copy") != 0 && strcmp(argv[1], "zerocopy") != 0)) {
    fprintf(stderr, "usage: %s copy|zerocopy PORT SIZE COUNT\n", argv[0]);
    return 2;
  }
  int zerocopy = strcmp(argv[1], "zerocopy") == 0;
  struct args a = parse_args(argc, argv, 2, "copy|zerocopy");
  assert_in_blackhole();
  char *buf = malloc(a.size);
  if (buf == NULL) die("malloc");
  memset(buf, 0x5a, a.size);
  double started = now_ns();
  int fd = connect_loopback(SOCK_DGRAM, a.port);
  int one = 1;
  if (zerocopy && setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) < 0) die("setsockopt(SO_ZEROCOPY)");
  struct iovec iov = {.iov_base = buf, .iov_len = a.size};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  long long sent = 0;
  for (long i = 0; i < a.count; i++) {
    for (;;) {
      ssize_t n = sendmsg(fd, &msg, zerocopy ? MSG_ZEROCOPY : 0);
      if (n == (ssize_t)a.size) break;
      if (n >= 0) {
        fprintf(stderr, "sendmsg took %zd of %zu bytes\n", n, a.size);
        return 1;
      }
      if (errno == EINTR) continue;
      if (errno == ENOBUFS && zerocopy && sent > notified) {
        wait_and_reap(fd);
        continue;
      }
      die("sendmsg");
    }
    sent++;
    if (zerocopy && sent % REAP_EVERY == 0) reap(fd);
  }
  while (zerocopy && notified < sent) wait_and_reap(fd);
  double elapsed = now_ns() - started;
  close(fd);
  report(sent * (long long)a.size, elapsed, zerocopy ? copied : -1);
  return 0;
}
