/*
 * The C references for the UDP blackhole that use io_uring, through its raw system calls (no
 * liburing): one reused buffer, datagrams to 127.0.0.1:PORT (only inside the bench's own network
 * namespace), 8 requests per io_uring_enter, which also waits for every completion of those 8
 * (for SEND_ZC: the result and the notification).
 *
 * - send: IORING_OP_SEND (the kernel copies).
 * - send_zc: IORING_OP_SEND_ZC from plain memory.
 * - send_zc_fixed: IORING_OP_SEND_ZC from a registered buffer (IORING_RECVSEND_FIXED_BUF).
 *
 * Usage: udp_io_uring send|send_zc|send_zc_fixed PORT SIZE COUNT
 */
#include "reference.h"
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define PER_SUBMIT 8
#define ENTRIES 64

struct ring {
  int fd;
  unsigned *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  // Completions are run only when this thread asks for them, in io_uring_enter: no interrupts.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  r->fd = (int)syscall(__NR_io_uring_setup, ENTRIES, &p);
  if (r->fd < 0 && errno == EINVAL) {
    memset(&p, 0, sizeof p);
    r->fd = (int)syscall(__NR_io_uring_setup, ENTRIES, &p);
  }
  if (r->fd < 0) die("io_uring_setup");
  size_t sq_bytes = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_bytes = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) sq_bytes = cq_bytes = sq_bytes > cq_bytes ? sq_bytes : cq_bytes;
  char *sq = mmap(NULL, sq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) die("mmap(SQ ring)");
  char *cq = sq;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
    cq = mmap(NULL, cq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) die("mmap(CQ ring)");
  }
  r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                 r->fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) die("mmap(SQEs)");
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  for (unsigned i = 0; i < p.sq_entries; i++) r->sq_array[i] = i;
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int zc = strcmp(mode, "send_zc") == 0, fixed = strcmp(mode, "send_zc_fixed") == 0;
  if (!zc && !fixed && strcmp(mode, "send") != 0) {
    fprintf(stderr, "usage: %s send|send_zc|send_zc_fixed PORT SIZE COUNT\n", argv[0]);
    return 2;
  }
  zc = zc || fixed;
  struct args a = parse_args(argc, argv, 2, "send|send_zc|send_zc_fixed");
  assert_in_blackhole();
  size_t mapped = (a.size + 4095) & ~(size_t)4095;
  char *buf = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) die("mmap(buffer)");
  memset(buf, 0x5a, a.size);

  double started = now_ns();
  struct ring r;
  ring_setup(&r);
  if (fixed) {
    struct iovec iov = {.iov_base = buf, .iov_len = mapped};
    if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) die("io_uring_register(BUFFERS)");
  }
  int fd = connect_loopback(SOCK_DGRAM, a.port);
  long long sent = 0, copied = 0;
  for (long submitted = 0; submitted < a.count;) {
    unsigned n = a.count - submitted < PER_SUBMIT ? (unsigned)(a.count - submitted) : PER_SUBMIT;
    unsigned tail = *r.sq_tail, mask = *r.sq_mask;
    for (unsigned k = 0; k < n; k++, tail++) {
      struct io_uring_sqe *sqe = &r.sqes[tail & mask];
      memset(sqe, 0, sizeof *sqe);
      sqe->opcode = zc ? IORING_OP_SEND_ZC : IORING_OP_SEND;
      sqe->fd = fd;
      sqe->addr = (unsigned long)buf;
      sqe->len = (unsigned)a.size;
      sqe->ioprio = (zc ? IORING_SEND_ZC_REPORT_USAGE : 0) | (fixed ? IORING_RECVSEND_FIXED_BUF : 0);
      sqe->buf_index = 0;
      sqe->user_data = (unsigned long long)(submitted + k);
    }
    __atomic_store_n(r.sq_tail, tail, __ATOMIC_RELEASE);
    submitted += n;
    // Every request completes once; a SEND_ZC whose result carries F_MORE completes again (its notification).
    unsigned owed = n;
    while (owed > 0) {
      if (syscall(__NR_io_uring_enter, r.fd, n, owed, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        if (errno == EINTR) continue;
        die("io_uring_enter");
      }
      n = 0;
      unsigned head = *r.cq_head, ctail = __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE);
      for (; head != ctail; head++) {
        struct io_uring_cqe *cqe = &r.cqes[head & *r.cq_mask];
        owed--;
        if (cqe->flags & IORING_CQE_F_NOTIF) {
          if ((unsigned)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED) copied++;
          continue;
        }
        if (cqe->flags & IORING_CQE_F_MORE) owed++;
        if (cqe->res != (int)a.size) {
          errno = cqe->res < 0 ? -cqe->res : 0;
          fprintf(stderr, "%s of %zu bytes completed with %d (%s)\n", mode, a.size, cqe->res, strerror(errno));
          return 1;
        }
        sent++;
      }
      __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
    }
  }
  double elapsed = now_ns() - started;
  close(fd);
  close(r.fd);
  report(sent * (long long)a.size, elapsed, zc ? copied : -1);
  return 0;
}
