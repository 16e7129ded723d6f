/**
 * The per-chunk choice of `backend: "auto"` for one connection: the {@link SizePolicy} band of the
 * chunk's size names a backend, and what the kernel has reported for this socket can overrule it:
 *
 * - a zero-copy route whose notifications said COPIED (loopback, a device without scatter-gather)
 *   is downgraded: chunks go by copy until `reprobeBytes` more have gone, then zero-copy is tried
 *   again (each re-probe copied again doubles the wait, see {@link CopiedDowngrade});
 * - until the kernel has confirmed one zero-copied send on a route (after opening, and after each
 *   re-probe), only {@link PROBE_BYTES} go that way at a time, so a path that copies anyway costs
 *   one probe, not everything written before the first notification arrives; while the window is
 *   full, every {@link PROBE_POLL_EVERY}th chunk reads the notifications that have come;
 * - after ENOBUFS (MSG_ZEROCOPY over optmem or RLIMIT_MEMLOCK) or ENOMEM (SEND_ZC over
 *   RLIMIT_MEMLOCK), chunks go by copy until every zero-copy buffer in flight is released.
 *
 * `route()` runs per chunk in `write()`: it compares numbers and reads counters, and allocates
 * nothing (while a probe is unanswered, one chunk in {@link PROBE_POLL_EVERY} makes a
 * non-blocking `recvmsg(MSG_ERRQUEUE)`).
 *
 * @module
 */
import type { CopiedDowngrade } from "./copied_downgrade.ts";
import { ROUTE_COPY, ROUTE_IO_URING, ROUTE_MSG_ZEROCOPY } from "./send_queue.ts";
import type { BackendName } from "../ffi/backend_names.ts";
import type { PolicyBand } from "./size_policy.ts";
import type { SendStats } from "./send_stats.ts";

/** Zero-copy bytes queued or in flight on a route the kernel has not confirmed yet. */
export const PROBE_BYTES = 256 * 1024;

/** What the router reads of a zero-copy sender: its downgrade state and what it holds. */
export interface ZeroCopyRoute {
  readonly downgrade: CopiedDowngrade;
  /** Bytes sent zero-copy whose notification has not come. */
  readonly inflightBytes: number;
  /**
   * Reads the notifications that have arrived (never blocks), for a route whose notifications
   * otherwise wait for the send fiber: MSG_ZEROCOPY's error queue. (io_uring's completions are
   * read in the same task as the submission that posts them, so its route has none.)
   */
  drain?(stats: SendStats): number;
}

/**
 * While a probe is unanswered, every this many chunks that it holds back read the notifications
 * at once: a writer whose writes all complete at once never lets the send fiber run, and would
 * otherwise send everything by copy behind an answer that came long ago.
 */
export const PROBE_POLL_EVERY = 8;

/** The backends this connection has. */
export interface RouteAvailability {
  readonly msgZerocopy: boolean;
  readonly ioUring: boolean;
}

/**
 * A policy's bands as the router reads them: where each starts, and the route each takes given what
 * the connection has. Shared by every connection with the same bands and availability; never changed.
 */
export interface RouteTable {
  /** The first size of each band, smallest first. */
  readonly from: Float64Array;
  /** Each band's route: its first backend that is available. */
  readonly routes: Uint8Array;
  /** Whether a band routes to msg_zerocopy. */
  readonly msgZerocopy: boolean;
  /** Whether a band routes to io_uring. */
  readonly ioUring: boolean;
}

/** Tables made so far, per bands array and per availability (see {@link routeTable}). */
const tables = new WeakMap<readonly PolicyBand[], (RouteTable | undefined)[]>();

/**
 * The {@link RouteTable} of `bands` given what is `available`, made once and then shared: every
 * `auto` connection asks for one, and making it anew would add to every connect.
 */
export const routeTable = (bands: readonly PolicyBand[], available: RouteAvailability): RouteTable => {
  let byAvailability = tables.get(bands);
  if (byAvailability === undefined) tables.set(bands, byAvailability = []);
  return byAvailability[(available.msgZerocopy ? 1 : 0) | (available.ioUring ? 2 : 0)] ??= makeTable(bands, available);
};

const makeTable = (bands: readonly PolicyBand[], available: RouteAvailability): RouteTable => {
  const from = new Float64Array(bands.length);
  const routes = new Uint8Array(bands.length);
  for (let i = 0; i < bands.length; i++) {
    from[i] = bands[i].from;
    const backend = bands[i].use.find((b: BackendName) =>
      b === "copy" || (b === "msg_zerocopy" && available.msgZerocopy) || (b === "io_uring" && available.ioUring)
    )!;
    routes[i] = backend === "io_uring" ? ROUTE_IO_URING : backend === "msg_zerocopy" ? ROUTE_MSG_ZEROCOPY : ROUTE_COPY;
  }
  return { from, routes, msgZerocopy: routes.includes(ROUTE_MSG_ZEROCOPY), ioUring: routes.includes(ROUTE_IO_URING) };
};

export class ChunkRouter {
  readonly #from: Float64Array;
  readonly #routes: Uint8Array;
  readonly #last: number;
  #noBuffers: number;
  #pressure = false;
  /** Chunks the unanswered probe has sent by copy since the last read of notifications. */
  #heldBack = 0;
  #beforeZeroCopy: (() => void) | undefined;

  /**
   * @param table the policy's bands for this connection, as {@link routeTable} gives them
   * @param msgZerocopy the socket's MSG_ZEROCOPY state, if any band routes there
   * @param ioUring the socket's io_uring sender, if any band routes there
   * @param queuedOwnedBytes owned bytes queued and not yet sent
   * @param beforeZeroCopy run once, just before the first chunk the policy sends zero-copy: where
   *   the connection starts its zero-copy routes from what an earlier connection learnt of the peer
   *   (`path_verdicts.ts`), a lookup that connections sending only small chunks never make
   */
  constructor(
    table: RouteTable,
    private readonly msgZerocopy: ZeroCopyRoute | undefined,
    private readonly ioUring: ZeroCopyRoute | undefined,
    private readonly stats: SendStats,
    private readonly queuedOwnedBytes: () => number,
    beforeZeroCopy?: () => void,
  ) {
    if (table.msgZerocopy && msgZerocopy === undefined) throw new Error("a band routes to msg_zerocopy, which is missing");
    if (table.ioUring && ioUring === undefined) throw new Error("a band routes to io_uring, which is missing");
    this.#from = table.from;
    this.#routes = table.routes;
    this.#last = table.from.length - 1;
    this.#noBuffers = stats.noBufferFallbacks;
    this.#beforeZeroCopy = beforeZeroCopy;
  }

  /** The route the policy gives `size` before the kernel's reports are considered. */
  planned(size: number): number {
    const from = this.#from;
    let b = 0;
    while (b < this.#last && size >= from[b + 1]) b++;
    return this.#routes[b];
  }

  /** The route for a chunk of `size` bytes now: {@link ROUTE_COPY}, {@link ROUTE_MSG_ZEROCOPY} or {@link ROUTE_IO_URING}. */
  route(size: number): number {
    const route = this.planned(size);
    if (route === ROUTE_COPY) return ROUTE_COPY;
    if (this.#beforeZeroCopy !== undefined) {
      const first = this.#beforeZeroCopy;
      this.#beforeZeroCopy = undefined;
      first();
    }
    const zc = route === ROUTE_IO_URING ? this.ioUring! : this.msgZerocopy!;
    const d = zc.downgrade;
    if (!d.enabled) return ROUTE_COPY;
    if (this.#underPressure()) return ROUTE_COPY;
    if (!d.confirmed && this.#probeFull(zc, size)) {
      // Probing: one window of zero-copy bytes at a time until a notification tells.
      if (zc.drain === undefined || ++this.#heldBack < PROBE_POLL_EVERY) return ROUTE_COPY;
      this.#heldBack = 0;
      zc.drain(this.stats);
      if (!d.enabled || (!d.confirmed && this.#probeFull(zc, size))) return ROUTE_COPY;
    }
    return route;
  }

  /** Whether a chunk of `size` more bytes would overfill the probe window. */
  #probeFull(zc: ZeroCopyRoute, size: number): boolean {
    const pending = zc.inflightBytes + this.queuedOwnedBytes();
    return pending > 0 && pending + size > PROBE_BYTES;
  }

  /** After ENOBUFS or ENOMEM: true until no zero-copy buffer is in flight. */
  #underPressure(): boolean {
    const noBuffers = this.stats.noBufferFallbacks;
    if (noBuffers !== this.#noBuffers) {
      this.#noBuffers = noBuffers;
      this.#pressure = true;
    }
    if (!this.#pressure) return false;
    if ((this.msgZerocopy?.inflightBytes ?? 0) + (this.ioUring?.inflightBytes ?? 0) > 0) return true;
    this.#pressure = false;
    return false;
  }
}
