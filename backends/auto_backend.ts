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
import type { BackendName } from "../ffi/backend_names.ts";
import { AF_INET, AF_INET6 } from "../ffi/constants.ts";
import { bufferOf } from "../ffi/intrinsics.ts";
import { decodeSockaddr } from "../ffi/sockaddr.ts";
import { SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import { type Backend, type BackendSocket, BackendUnavailable, SUBMITTED } from "./backend.ts";
import { ChunkRouter, type RouteAvailability, routeTable } from "./chunk_router.ts";
import { openCopy } from "./copy.ts";
import type { DirectSender } from "./direct_sender.ts";
import { type IoUringSender, openIoUring } from "./io_uring.ts";
import { openMsgZerocopy } from "./msg_zerocopy.ts";
import { PathVerdicts } from "./path_verdicts.ts";
import { type ProbeResult, probeWith } from "./probe.ts";
import type { RegisteredLeases } from "./registered_leases.ts";
import { downgrade } from "./registry.ts";
import { ROUTE_IO_URING, ROUTE_MSG_ZEROCOPY, type SendQueue } from "./send_queue.ts";
import type { SendStats } from "./send_stats.ts";
import type { PolicyBand } from "./size_policy.ts";

/** Segments one run covers at most: a pass never scans far past what one sendmsg takes. */
const MAX_RUN = 1024;

/** What the outbox asks `auto` per chunk. */
export interface ChunkRoutes {
  /** The route for a chunk of `size` bytes (at least `stageBelow`). */
  route(size: number): number;
  /** The route for a lease the chunk route sent to `route`: registered memory goes through the ring. */
  leaseRoute(lease: Uint8Array, route: number): number;
}

/**
 * Opens `auto` with the senders its policy's bands route to, out of what probe() found: the ring's
 * if a band names io_uring, MsgZerocopy on the direct sender if one names msg_zerocopy. A route that
 * cannot be had here goes to its band's next choice, with the reason in stats.
 */
export const openAuto = (socket: BackendSocket, bands: readonly PolicyBand[]): AutoBackend => {
  const { sys, stats } = socket;
  const nextChoice = (reason: string) => downgrade(stats, `${reason}; auto uses the policy's next choice`);
  const found = probeWith(sys);
  const noIoUring = ioUringUsable(found);
  if (noIoUring !== undefined && routeTable(bands, EVERY_ROUTE).ioUring) nextChoice(noIoUring);
  let available: RouteAvailability = { msgZerocopy: found.msgZerocopy.available, ioUring: noIoUring === undefined };
  let direct: DirectSender | undefined;
  let ring: IoUringSender | undefined;
  // Each route the table needs is opened; one that cannot be had here leaves the table, whose band
  // then names its next choice, which may be the other zero-copy route.
  for (;;) {
    const table = routeTable(bands, available);
    if (table.msgZerocopy && direct === undefined) {
      const opened = openMsgZerocopy(socket);
      if (opened instanceof BackendUnavailable) {
        nextChoice(opened.reason);
        available = { msgZerocopy: false, ioUring: available.ioUring };
        continue;
      }
      direct = opened;
    }
    if (table.ioUring && ring === undefined) {
      const opened = openIoUring(socket);
      if (opened instanceof BackendUnavailable) {
        nextChoice(opened.reason);
        available = { msgZerocopy: available.msgZerocopy, ioUring: false };
        continue;
      }
      ring = opened;
    }
    break;
  }
  direct ??= openCopy(socket);
  const zerocopy = direct.zerocopy;
  // Whether zero-copy to this peer was copied anyway on a recent connection: start from that.
  const followPeer = () => {
    const peer = peerKey(socket);
    const downgrades = [zerocopy?.downgrade, ring?.downgrade].filter((d) => d !== undefined);
    if (peer !== undefined) PathVerdicts.shared.follow(peer, downgrades, stats);
  };
  const queue = socket.queue;
  const router = new ChunkRouter(routeTable(bands, available), zerocopy, ring, stats, () => queue.ownedBytes, followPeer);
  return new AutoBackend(direct, ring, router);
};

/** Every backend, to learn whether the policy names io_uring anywhere. */
const EVERY_ROUTE: RouteAvailability = { msgZerocopy: true, ioUring: true };

/** Undefined if probe() found everything auto's io_uring route needs; otherwise why not. */
const ioUringUsable = (found: ProbeResult): string | undefined => {
  if (!found.ioUring.available) return `io_uring: ${found.ioUring.reason}`;
  if (!found.ioUringRing.available) return `io_uring: ${found.ioUringRing.reason}`;
  const ops = found.ioUringOps;
  if (!ops.sendZc || !ops.send) return "io_uring: this kernel has no IORING_OP_SEND_ZC";
  // Without it a copied send looks zero-copied, and loopback would never be detected.
  if (!ops.reportUsage) return "io_uring: this kernel has no IORING_SEND_ZC_REPORT_USAGE";
  return undefined;
};

/**
 * "tcp 127.0.0.1 9000": the transport and the peer's address, or undefined if it has no IP
 * address (none at all, or another family, such as an AF_UNIX socket given to zcWritable).
 */
const peerKey = ({ sys, fd, udp }: BackendSocket): string | undefined => {
  const addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const n = sys.getpeername(fd, addr);
  const family = n >= 2 ? addr[0] | (addr[1] << 8) : -1;
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const peer = decodeSockaddr(addr.subarray(0, n));
  return `${udp ? "udp" : "tcp"} ${peer.hostname} ${peer.port}`;
};

export class AutoBackend implements Backend, ChunkRoutes {
  #active: Backend;
  readonly #registered: ArrayBufferLike | undefined;

  /**
   * @param direct the socket's sendmsg/sendmmsg sender, with a MsgZerocopy if a route needs one
   * @param ring the socket's io_uring sender, if a route needs one
   * @param router the per-chunk choice
   */
  constructor(
    private readonly direct: DirectSender,
    private readonly ring: IoUringSender | undefined,
    readonly router: ChunkRouter,
  ) {
    this.#active = direct;
    const leases = ring?.leases;
    this.#registered = leases === undefined ? undefined : bufferOf(leases.buffers.bytes);
  }

  /** The ring's registered memory, when the ring is one of the routes. */
  get leases(): RegisteredLeases | undefined {
    return this.ring?.leases;
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
    // The ring sends registered memory as it is; MSG_ZEROCOPY would pin its pages again per send.
    return route === ROUTE_MSG_ZEROCOPY && bufferOf(lease) === this.#registered ? ROUTE_IO_URING : route;
  }

  close(): void {
    this.direct.close();
    this.ring?.close();
  }
}
