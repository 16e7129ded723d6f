/**
 * Readiness of many fds through one epoll set, without ever blocking the event loop.
 *
 * Interests are one-shot: {@link Waiter.arm} asks for the next readable or writable event of an fd
 * and the handler runs once when it comes. The epoll fd itself is waited on off-thread by the
 * runtime adapter ({@link Sys.waitReadable}); when it fires, one `epoll_wait` on this thread drains
 * every ready fd at once. The wait is only outstanding while some fd is armed, so an idle process
 * can exit; an eventfd in the set ends a wait that is no longer wanted.
 *
 * @example
 * ```ts
 * const waiter = new Waiter(sys);
 * const watch = waiter.watch(fd);
 * watch.onWritable = () => flush();
 * waiter.arm(watch, POLLOUT);  // flush() runs once fd is writable
 * waiter.forget(watch);        // before closing fd
 * ```
 *
 * @module
 */
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_SIZE,
  EPOLLONESHOT,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
} from "./constants.ts";
import type { Sys } from "./sys.ts";
import { errnoError } from "./zcio_error.ts";

const MAX_EVENTS = 256;
/** epoll data value of the wake-up eventfd; real fds are never this large. */
const WAKE_TOKEN = 0xffffffff;

/** What one fd wants and whom to tell. Made once per fd by {@link Waiter.watch}. */
export class FdWatch {
  /** POLLIN / POLLOUT / POLLERR bits still wanted. */
  interest = 0;
  /** Whether the fd is in the epoll set, and whether it is armed there now. */
  registered = false;
  armed = false;
  onReadable: (revents: number) => void = () => {};
  onWritable: (revents: number) => void = () => {};
  /** POLLERR: the socket's error queue (zero-copy notifications) or the socket itself has news. */
  onError: (revents: number) => void = () => {};
  constructor(readonly fd: number) {}
}

export class Waiter {
  readonly #epfd: number;
  readonly #wakeFd: number;
  readonly #events = new Uint8Array(MAX_EVENTS * EPOLL_EVENT_SIZE);
  readonly #eventData = new DataView(this.#events.buffer);
  readonly #wakeBuffer = new Uint8Array(8);
  readonly #wakeOne = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  readonly #watches = new Map<number, FdWatch>();
  #armedCount = 0;
  #waiting = false;
  #closed = false;

  constructor(private readonly sys: Sys) {
    const epfd = sys.epollCreate(EPOLL_CLOEXEC);
    if (epfd < 0) throw errnoError("epoll_create1", epfd);
    const wakeFd = sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd < 0) {
      sys.close(epfd);
      throw errnoError("eventfd", wakeFd);
    }
    const r = sys.epollCtl(epfd, EPOLL_CTL_ADD, wakeFd, POLLIN, WAKE_TOKEN);
    if (r < 0) {
      sys.close(wakeFd);
      sys.close(epfd);
      throw errnoError("epoll_ctl", r);
    }
    this.#epfd = epfd;
    this.#wakeFd = wakeFd;
  }

  /** The watch for `fd`, made on first use. */
  watch(fd: number): FdWatch {
    let w = this.#watches.get(fd);
    if (w === undefined) {
      w = new FdWatch(fd);
      this.#watches.set(fd, w);
    }
    return w;
  }

  /** Asks for one readiness event of `bits` (POLLIN, POLLOUT, POLLERR) on the watched fd. */
  arm(watch: FdWatch, bits: number): void {
    if (this.#closed) return;
    const before = watch.interest;
    watch.interest |= bits;
    if (before === 0) this.#armedCount++;
    if (!watch.armed || before !== watch.interest) this.#apply(watch);
    this.#ensureWaiting();
  }

  /** Takes back an interest that was armed but is no longer wanted. */
  disarm(watch: FdWatch, bits: number): void {
    if ((watch.interest & bits) === 0) return;
    watch.interest &= ~bits;
    if (watch.interest === 0) this.#lostInterest();
  }

  /** Removes the fd from the set; call before closing it. */
  forget(watch: FdWatch): void {
    if (watch.interest !== 0) {
      watch.interest = 0;
      this.#lostInterest();
    }
    if (watch.registered) this.sys.epollCtl(this.#epfd, EPOLL_CTL_DEL, watch.fd, 0, 0);
    watch.registered = false;
    watch.armed = false;
    if (this.#watches.get(watch.fd) === watch) this.#watches.delete(watch.fd);
  }

  /** How many fds have an interest armed now. */
  get armedCount(): number {
    return this.#armedCount;
  }

  /** Closes the epoll set. Pending interests never fire. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    this.sys.close(this.#epfd);
    this.sys.close(this.#wakeFd);
  }

  #apply(watch: FdWatch): void {
    const op = watch.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    const r = this.sys.epollCtl(this.#epfd, op, watch.fd, watch.interest | EPOLLONESHOT, watch.fd);
    if (r < 0) {
      // The fd cannot be watched (closed under us): report it as an error event so its owner finds out.
      queueMicrotask(() => this.#fire(watch, POLLERR));
      return;
    }
    watch.registered = true;
    watch.armed = true;
  }

  #lostInterest(): void {
    this.#armedCount--;
    if (this.#armedCount === 0 && this.#waiting) this.#wake();
  }

  #wake(): void {
    this.sys.write(this.#wakeFd, this.#wakeOne);
  }

  #ensureWaiting(): void {
    if (this.#waiting || this.#armedCount === 0 || this.#closed) return;
    this.#waiting = true;
    this.sys.waitReadable(this.#epfd).then(this.#onReady);
  }

  readonly #onReady = (): void => {
    this.#waiting = false;
    if (this.#closed) return;
    for (;;) {
      const n = this.sys.epollWait(this.#epfd, this.#events, MAX_EVENTS, 0);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) {
        const at = i * EPOLL_EVENT_SIZE;
        const revents = this.#eventData.getUint32(at, true);
        const token = this.#eventData.getUint32(at + 4, true);
        if (token === WAKE_TOKEN) {
          this.sys.read(this.#wakeFd, this.#wakeBuffer);
          continue;
        }
        const watch = this.#watches.get(token);
        if (watch !== undefined) {
          watch.armed = false;
          this.#fire(watch, revents);
        }
      }
      if (n < MAX_EVENTS) break;
    }
    this.#ensureWaiting();
  };

  #fire(watch: FdWatch, revents: number): void {
    const failed = (revents & (POLLERR | POLLHUP)) !== 0;
    const readable = (watch.interest & POLLIN) !== 0 && (failed || (revents & POLLIN) !== 0);
    const writable = (watch.interest & POLLOUT) !== 0 && (failed || (revents & POLLOUT) !== 0);
    const errored = (watch.interest & POLLERR) !== 0 && failed;
    const fired = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0) | (errored ? POLLERR : 0);
    if (fired !== 0) {
      watch.interest &= ~fired;
      // Through #lostInterest: an error reported outside a pass (#apply) fires while the wait is
      // still outstanding, and that wait must end once nothing is armed, or the process never exits.
      if (watch.interest === 0) this.#lostInterest();
    }
    if (readable) watch.onReadable(revents);
    if (writable) watch.onWritable(revents);
    if (errored) watch.onError(revents);
    // One-shot disarmed the fd; re-arm what is still wanted and was not re-armed by a handler.
    if (watch.interest !== 0 && !watch.armed && watch.registered) this.#apply(watch);
  }
}
