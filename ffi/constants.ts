/**
 * The Linux x86_64 ABI numbers zcio uses, each documented where it is defined.
 * Every value is from the kernel's UAPI headers as recorded in docs/kernel.md (checked on Linux
 * 6.18) or, for epoll and eventfd, from `<sys/epoll.h>` / `<sys/eventfd.h>` (glibc 2.36).
 *
 * @module
 */

// ── Syscall numbers (x86_64) ─────────────────────────────────────────────────────────────
/** `io_uring_setup(entries, params*)`. */
export const SYS_io_uring_setup = 425;
/** `io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz)`. */
export const SYS_io_uring_enter = 426;
/** `io_uring_register(fd, opcode, arg, nr_args)`. */
export const SYS_io_uring_register = 427;
/** `fcntl(fd, cmd, arg)`, called through `syscall`: libc's `fcntl` is variadic. */
export const SYS_fcntl = 72;
/** fcntl: the lowest free fd ≥ arg, a duplicate of fd, with FD_CLOEXEC set. */
export const F_DUPFD_CLOEXEC = 1030;

// ── Address families, socket types, protocols ────────────────────────────────────────────
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
/** OR-ed into the socket type: the fd is created non-blocking. */
export const SOCK_NONBLOCK = 0x800;
/** OR-ed into the socket type: the fd is closed on exec. */
export const SOCK_CLOEXEC = 0x80000;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

// ── Socket options ───────────────────────────────────────────────────────────────────────
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
/** SOCK_STREAM or SOCK_DGRAM: what kind of socket an fd handed to zcio is. */
export const SO_TYPE = 3;
/** Read and clear the socket's pending error: how a non-blocking connect reports failure. */
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
/** The kernel probes an idle TCP connection and ends it when the peer is gone. */
export const SO_KEEPALIVE = 9;
/** Bytes a TCP socket must hold before a blocking read wakes up (end of stream wakes it anyway). */
export const SO_RCVLOWAT = 18;
/** The socket's address family (AF_INET, AF_INET6). */
export const SO_DOMAIN = 39;
/** Opt in to MSG_ZEROCOPY; without it the flag is silently ignored and no notification ever comes. */
export const SO_ZEROCOPY = 60;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
export const SOL_IP = 0;
export const SOL_IPV6 = 41;
/** cmsg type of a zerocopy notification on an AF_INET socket (level SOL_IP). */
export const IP_RECVERR = 11;
/** cmsg type of a zerocopy notification on an AF_INET6 socket (level SOL_IPV6). */
export const IPV6_RECVERR = 25;
/** `ee_origin` of a zerocopy notification. */
export const SO_EE_ORIGIN_ZEROCOPY = 5;
/** `ee_code` bit: the kernel copied the data after all (always so over loopback). */
export const SO_EE_CODE_ZEROCOPY_COPIED = 1;

// ── send/recv flags ──────────────────────────────────────────────────────────────────────
/** Data was truncated because the control buffer was too small. */
export const MSG_CTRUNC = 0x8;
/** Datagram was truncated because the buffer was too small. */
export const MSG_TRUNC = 0x20;
/** Do not block, even on a blocking socket. */
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITALL = 0x100;
/** Read the socket's error queue (zerocopy notifications); never blocks. */
export const MSG_ERRQUEUE = 0x2000;
/** Return EPIPE instead of raising SIGPIPE when the peer is gone. */
export const MSG_NOSIGNAL = 0x4000;
/** Send by pinning the pages instead of copying; needs SO_ZEROCOPY. */
export const MSG_ZEROCOPY = 0x4000000;
/** Largest iovec count one sendmsg takes (UIO_MAXIOV), and largest vlen for sendmmsg. */
export const IOV_MAX = 1024;

// ── poll / epoll / eventfd ───────────────────────────────────────────────────────────────
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
/** epoll event bits share the poll values; these are the ones poll lacks. */
export const EPOLLRDHUP = 0x2000;
/** Disarm the fd after one event; EPOLL_CTL_MOD re-arms it. */
export const EPOLLONESHOT = 0x40000000;
export const EPOLL_CLOEXEC = 0x80000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
/** `struct epoll_event` is packed on x86_64: u32 events @0, u64 data @4. */
export const EPOLL_EVENT_SIZE = 12;
export const EFD_CLOEXEC = 0x80000;
export const EFD_NONBLOCK = 0x800;

// ── mmap / rlimit ────────────────────────────────────────────────────────────────────────
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_ANONYMOUS = 0x20;
export const MAP_POPULATE = 0x8000;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_NOFILE = 7;

// ── errno ────────────────────────────────────────────────────────────────────────────────
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EISDIR = 21;
export const EINVAL = 22;
export const EMFILE = 24;
export const EPIPE = 32;
export const ENOSYS = 38;
export const ETIME = 62;
export const ENOTSOCK = 88;
export const EDESTADDRREQ = 89;
export const EMSGSIZE = 90;
export const ENOPROTOOPT = 92;
export const EOPNOTSUPP = 95;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;
export const ENETUNREACH = 101;
export const ECONNABORTED = 103;
export const ECONNRESET = 104;
export const ENOBUFS = 105;
export const ENOTCONN = 107;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EHOSTUNREACH = 113;
export const EALREADY = 114;
export const EINPROGRESS = 115;
export const ECANCELED = 125;

// ══ io_uring ═════════════════════════════════════════════════════════════════════════════
// liburing's names and values (docs/kernel.md, 'SQE and CQE layouts'; <linux/io_uring.h>). Used by ffi/io_uring/.
// The syscall numbers (SYS_io_uring_*) are at the top of this file.

// ── io_uring_setup: params.flags (IORING_SETUP_*) ───────────────────────────────────────
/** A kernel thread polls the SQ. Needs the NEED_WAKEUP protocol; zcio does not use it. */
export const IORING_SETUP_SQPOLL = 0x2;
/** Honour `params.cq_entries` (must exceed the SQ entries; rounded up to a power of two). */
export const IORING_SETUP_CQSIZE = 0x8;
/** 5.18: keep submitting the rest of a batch after one SQE fails. */
export const IORING_SETUP_SUBMIT_ALL = 0x80;
/** 5.19: no IPI to run completion task work; it runs on the next kernel entry. */
export const IORING_SETUP_COOP_TASKRUN = 0x100;
/** 5.19: set IORING_SQ_TASKRUN in the SQ flags while task work is pending. EINVAL without COOP or DEFER. */
export const IORING_SETUP_TASKRUN_FLAG = 0x200;
/** Each CQE is 32 bytes. zcio never sets it: its CQ code assumes 16-byte CQEs. */
export const IORING_SETUP_CQE32 = 0x800;
/** 6.0: only the task that created the ring submits (others get EEXIST). */
export const IORING_SETUP_SINGLE_ISSUER = 0x1000;
/**
 * 6.1: completion task work runs only inside io_uring_enter(GETEVENTS) from the submitting task.
 * EINVAL without SINGLE_ISSUER. SEND_ZC notifications then appear only after such an enter.
 */
export const IORING_SETUP_DEFER_TASKRUN = 0x2000;
/** 6.5: the application supplies the ring memory. Not used. */
export const IORING_SETUP_NO_MMAP = 0x4000;
/** 6.6: no SQ index array; the SQE slot is `sqes[tail & mask]` and `sq_off.array` is 0. */
export const IORING_SETUP_NO_SQARRAY = 0x10000;

// ── io_uring_setup: params.features (IORING_FEAT_*) ─────────────────────────────────────
/** 5.4: the SQ and CQ rings share one mapping at IORING_OFF_SQ_RING. */
export const IORING_FEAT_SINGLE_MMAP = 0x1;
/** 5.5: CQEs that do not fit are kept by the kernel (IORING_SQ_CQ_OVERFLOW), not dropped. */
export const IORING_FEAT_NODROP = 0x2;
/** 5.11: io_uring_enter takes IORING_ENTER_EXT_ARG (a timed wait). */
export const IORING_FEAT_EXT_ARG = 0x100;

// ── mmap offsets on the ring fd ─────────────────────────────────────────────────────────
/** The SQ ring (and, with FEAT_SINGLE_MMAP, the CQ ring too). */
export const IORING_OFF_SQ_RING = 0;
/** The CQ ring, when not FEAT_SINGLE_MMAP. */
export const IORING_OFF_CQ_RING = 0x8000000;
/** The array of 64-byte SQEs. */
export const IORING_OFF_SQES = 0x10000000;

// ── Struct sizes ────────────────────────────────────────────────────────────────────────
/** `struct io_uring_params`: sq_entries 0, cq_entries 4, flags 8, features 20, sq_off 40, cq_off 80. */
export const IO_URING_PARAMS_SIZE = 120;
/** `struct io_uring_sqe` (without SQE128). */
export const IO_URING_SQE_SIZE = 64;
/** `struct io_uring_cqe`: user_data u64 @0, res s32 @8, flags u32 @12 (without CQE32). */
export const IO_URING_CQE_SIZE = 16;
/** `struct io_uring_getevents_arg`: sigmask u64 @0, sigmask_sz u32 @8, min_wait_usec u32 @12, ts u64 @16. */
export const IO_URING_GETEVENTS_ARG_SIZE = 24;
/** `struct __kernel_timespec`: tv_sec s64 @0, tv_nsec s64 @8. */
export const KERNEL_TIMESPEC_SIZE = 16;
/** `struct io_uring_probe` header: last_op u8 @0, ops_len u8 @1, then `ops[]` @16. */
export const IO_URING_PROBE_SIZE = 16;
/** `struct io_uring_probe_op`: op u8 @0, resv u8 @1, flags u16 @2. */
export const IO_URING_PROBE_OP_SIZE = 8;

// ── io_uring_enter flags (IORING_ENTER_*) ───────────────────────────────────────────────
/** Wait for `min_complete` CQEs, and (with DEFER_TASKRUN) run pending completion task work. */
export const IORING_ENTER_GETEVENTS = 0x1;
/** Wake the SQPOLL thread. */
export const IORING_ENTER_SQ_WAKEUP = 0x2;
/** 5.11: `arg` is a `struct io_uring_getevents_arg` (timeout, sigmask) of `argsz` bytes. */
export const IORING_ENTER_EXT_ARG = 0x8;

// ── SQ ring flags (read at sq_off.flags) ────────────────────────────────────────────────
/** The SQPOLL thread sleeps: enter with SQ_WAKEUP. */
export const IORING_SQ_NEED_WAKEUP = 0x1;
/** CQEs overflowed the CQ ring; an enter(GETEVENTS) flushes them in. */
export const IORING_SQ_CQ_OVERFLOW = 0x2;
/** With TASKRUN_FLAG: completion task work is pending; an enter(GETEVENTS) runs it. */
export const IORING_SQ_TASKRUN = 0x4;

// ── CQ ring flags (read/written at cq_off.flags) ────────────────────────────────────────
/** Set by the application to stop eventfd signals from this ring for a while. */
export const IORING_CQ_EVENTFD_DISABLED = 0x1;

// ── Opcodes (sqe.opcode, IORING_OP_*) ───────────────────────────────────────────────────
/** Does nothing; completes with res 0. The round-trip benchmark. */
export const IORING_OP_NOP = 0;
/** `sendmsg(fd, msghdr*, msg_flags)` (5.3). */
export const IORING_OP_SENDMSG = 9;
/** `send(fd, addr, len, msg_flags)` by copy (5.6). */
export const IORING_OP_SEND = 26;
/** 6.0: zero-copy send; a first CQE (F_MORE) then a notification CQE (F_NOTIF). */
export const IORING_OP_SEND_ZC = 47;
/** 6.1: zero-copy sendmsg, same two-CQE protocol. */
export const IORING_OP_SENDMSG_ZC = 48;

// ── sqe.flags (IOSQE_*) ─────────────────────────────────────────────────────────────────
/** `sqe.fd` is an index into the registered file table. */
export const IOSQE_FIXED_FILE = 0x1;
/** Start only after every earlier SQE has completed. */
export const IOSQE_IO_DRAIN = 0x2;
/** The next SQE starts only after this one succeeds (a link chain). */
export const IOSQE_IO_LINK = 0x4;
/** Like IO_LINK, but the chain continues even if this one fails. */
export const IOSQE_IO_HARDLINK = 0x8;
/** Always go to the async worker instead of trying inline first. */
export const IOSQE_ASYNC = 0x10;
/** Post no CQE on success. SEND_ZC rejects it with EINVAL (no F_MORE, no NOTIF). */
export const IOSQE_CQE_SKIP_SUCCESS = 0x40;

// ── Send flags, in sqe.ioprio (IORING_RECVSEND_*, IORING_SEND_ZC_*) ─────────────────────
/** Poll the socket for room before trying the send. */
export const IORING_RECVSEND_POLL_FIRST = 0x1;
/** The buffer is a registered one: `sqe.buf_index` names it, `sqe.addr` is inside it. */
export const IORING_RECVSEND_FIXED_BUF = 0x4;
/** 6.2: the NOTIF res carries IORING_NOTIF_USAGE_ZC_COPIED when any of the data was copied. */
export const IORING_SEND_ZC_REPORT_USAGE = 0x8;
/** 6.17: `sqe.addr` is an iovec array of `sqe.len` entries (SEND_ZC). */
export const IORING_SEND_VECTORIZED = 0x20;

// ── cqe.flags (IORING_CQE_F_*) and notification usage ───────────────────────────────────
/** A provided buffer was used; its id is in the upper 16 bits. */
export const IORING_CQE_F_BUFFER = 0x1;
/** More CQEs follow for this request: for SEND_ZC, its notification. Decide on this, never on res. */
export const IORING_CQE_F_MORE = 0x2;
/** The socket still has data to read (receives). */
export const IORING_CQE_F_SOCK_NONEMPTY = 0x4;
/** This CQE is a SEND_ZC notification: the kernel no longer reads the buffer. */
export const IORING_CQE_F_NOTIF = 0x8;
/**
 * In a NOTIF's res, with REPORT_USAGE: some or all of the data was copied (always so over loopback),
 * or nothing was sent zerocopy (failed sends too). Read as s32 it is negative: test `res < 0`.
 */
export const IORING_NOTIF_USAGE_ZC_COPIED = 0x80000000;

// ── io_uring_register opcodes (IORING_REGISTER_*) ───────────────────────────────────────
/** arg `struct iovec[nr]`, nr_args nr: pin and register buffers (ENOMEM over RLIMIT_MEMLOCK, EBUSY if a table exists). */
export const IORING_REGISTER_BUFFERS = 0;
/** arg NULL, nr_args 0: drop the registered buffer table. */
export const IORING_UNREGISTER_BUFFERS = 1;
/** arg `s32 *fd`, nr_args 1: signal this eventfd when CQEs are posted (EBUSY if one is registered). */
export const IORING_REGISTER_EVENTFD = 4;
/** arg NULL, nr_args 0: drop the registered eventfd. */
export const IORING_UNREGISTER_EVENTFD = 5;
/** Like REGISTER_EVENTFD, but signal only for completions that did not complete inline. */
export const IORING_REGISTER_EVENTFD_ASYNC = 7;
/** arg `struct io_uring_probe` + ops[nr] zeroed, nr_args nr (≤ 256): which opcodes this kernel has. */
export const IORING_REGISTER_PROBE = 8;
/** In `io_uring_probe_op.flags`: the opcode is supported. */
export const IO_URING_OP_SUPPORTED = 0x1;

// ── Files (<fcntl.h>, <sys/stat.h>) ──────────────────────────────────────────────────────
export const O_RDONLY = 0;
/** OR-ed into open()'s flags: the fd is closed on exec. */
export const O_CLOEXEC = 0o2000000;
/** The file-type bits of `st_mode`, and the types zcio tells apart. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
