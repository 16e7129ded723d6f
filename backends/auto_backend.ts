/**
 * `backend: "auto"`: one connection's senders behind the {@link Backend} interface, each chunk sent
 * by the one its route names. The route is chosen per chunk at `write()` by the connection's
 * {@link ChunkRouter} (from the size policy and what the kernel has reported) and stored with the
 * segment in the {@link SendQueue}; the outbox decides ownership from it.
 *
 * - The direct sender (`sendmsg`/`sendmmsg`) serves {@link ROUTE_COPY} and
 *   {@link ROUTE_MSG_ZEROCOPY}: with a {@link MsgZerocopy} attached it splits a run into copied and
 *   MSG_ZEROCOPY parts itself.
 * - The io_uring sender, when the ring is there, serves {@link ROUTE_IO_URING}.
 *
 * A pass sends the oldest run of one sender, then the next run, and so on. The two senders never
 * interleave on the socket: a direct send waits until the ring's chain for this connection has
 * completed (the ring sender's `busy`), so bytes keep their order. Zero-copy notifications still outstanding do not
 * hold anything up: their bytes are already queued in order in the kernel.
 *
 * @module
 */
import { bufferOf } from "../ffi/intrinsics.ts";
import type { BackendName } from "../ffi/backend_names.ts";
import { type Backend, SUBMITTED } from "./backend.ts";
import type { ChunkRouter } from "./chunk_router.ts";
import type { DirectSender } from "./direct_sender.ts";
import type { IoUringSender } from "./io_uring.ts";
import type { RegisteredLeases } from "./registered_leases.ts";
import { ROUTE_IO_URING, ROUTE_MSG_ZEROCOPY, type SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";

/** Segments one run covers at most: a pass never scans far past what one sendmsg takes. */
const MAX_RUN = 1024;

/** What the outbox asks `auto` per chunk. */
export interface ChunkRoutes {
  /** The route for a chunk of `size` bytes (at least `stageBelow`). */
  route(size: number): number;
  /** The route for a lease the chunk route sent to `route`: registered memory goes through the ring. */
  leaseRoute(lease: Uint8Array, route: number): number;
}

export class AutoBackend implements Backend, ChunkRoutes {
  #active: Backend;
  readonly #registered: ArrayBufferLike | undefined;

  /**
   * @param direct the socket's sendmsg/sendmmsg sender, with a MsgZerocopy if a route needs one
   * @param ring the socket's io_uring sender, if a route needs one
   * @param router the per-chunk choice
   * @param leases the ring's registered leases, if any
   */
  constructor(
    private readonly direct: DirectSender,
    private readonly ring: IoUringSender | undefined,
    readonly router: ChunkRouter,
    leases: RegisteredLeases | undefined,
  ) {
    this.#active = direct;
    this.#registered = leases === undefined ? undefined : bufferOf(leases.buffers.bytes);
  }

  /** The sender that sent last (what an error names). */
  get name(): BackendName {
    return this.#active.name;
  }

  get inflight(): number {
    return this.direct.inflight + (this.ring?.inflight ?? 0);
  }

  get inflightBytes(): number {
    return this.direct.inflightBytes + (this.ring?.inflightBytes ?? 0);
  }

  reap(stats: SendStats): number {
    return this.direct.reap(stats);
  }

  /** The ring's requests end first; the error queue's notifications are read as they come meanwhile. */
  whenIdle(done: () => void): void {
    const direct = this.direct;
    if (this.ring === undefined) direct.whenIdle(done);
    else this.ring.whenIdle(() => direct.whenIdle(done));
  }

  submit(queue: SendQueue, stats: SendStats, limit = Infinity): number {
    const ring = this.ring, direct = this.direct;
    // Without a ring every route is the direct sender's, so there are no runs to find, and
    // scanning for them would read the route of every queued segment for nothing.
    if (ring === undefined) return direct.submit(queue, stats, limit);
    // Segments past this many from the end are not this call's.
    const leave = Math.max(0, queue.length - limit);
    for (;;) {
      const n = queue.length - leave;
      if (n <= 0) return SUBMITTED;
      // The chain in flight is the head of the queue; its completion wakes the fiber.
      if (ring.busy) return SUBMITTED;
      const onRing = queue.route(0) === ROUTE_IO_URING;
      const max = Math.min(n, MAX_RUN);
      let run = 1;
      while (run < max && (queue.route(run) === ROUTE_IO_URING) === onRing) run++;
      if (onRing) {
        this.#active = ring;
        return ring.submit(queue, stats, run);
      }
      this.#active = direct;
      const copied = stats.bytes.copy;
      const result = direct.submit(queue, stats, run);
      // Bytes sent by copy count toward the ring's re-probe too.
      ring.downgrade.countCopied(stats.bytes.copy - copied);
      if (result !== SUBMITTED) return result;
    }
  }

  route(size: number): number {
    return this.router.route(size);
  }

  leaseRoute(lease: Uint8Array, route: number): number {
    // MsgZerocopy would drop a registered lease without returning it to the pool.
    return route === ROUTE_MSG_ZEROCOPY && bufferOf(lease) === this.#registered ? ROUTE_IO_URING : route;
  }

  close(): void {
    this.direct.close();
    this.ring?.close();
  }
}
