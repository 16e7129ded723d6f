/**
 * The Linux x86_64 ABI numbers zcio uses, each documented where it is defined.
 * Every value is from `../shared/KERNEL-ABI.md` (checked on Linux 6.18) or, for epoll and
 * eventfd which that file does not cover, from `<sys/epoll.h>` / `<sys/eventfd.h>` (glibc 2.36).
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
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const EMFILE = 24;
export const EPIPE = 32;
export const ENOSYS = 38;
export const ETIME = 62;
export const ENOTSOCK = 88;
export const EMSGSIZE = 90;
export const ENOPROTOOPT = 92;
export const EOPNOTSUPP = 95;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
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
