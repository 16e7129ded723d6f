/**
 * One socket and everything zcio keeps for it, held in a Scope: the fd, its watch in the waiter,
 * the mmap'd control and staging memory, the backend and the send fiber. Closing the scope
 * releases them in reverse order of acquisition.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Scope from "effect/Scope";
import { AutoBackend, openAuto } from "../backends/auto_backend.ts";
import type { BackendSocket } from "../backends/backend.ts";
import type { FileSend } from "../backends/file_send.ts";
import { FileSender } from "../backends/file_sender.ts";
import { BACKEND_CONTROL_BYTES, openBackend } from "../backends/registry.ts";
import { OwnedBuffers } from "../backends/owned_buffers.ts";
import { SendQueue } from "../backends/send_queue.ts";
import { SendStats, type SendStatsSnapshot } from "../backends/send_stats.ts";
import type { SizePolicy } from "../backends/size_policy.ts";
import type { BackendChoice } from "../ffi/backend_names.ts";
import { AF_INET6, POLLERR, SHUT_WR, SO_DOMAIN, SOL_SOCKET } from "../ffi/constants.ts";
import { Slab } from "../ffi/slab.ts";
import type { Sys } from "../ffi/sys.ts";
import type { FdWatch } from "../ffi/waiter.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { LeasePool } from "./lease_pool.ts";
import { closedError, Outbox } from "./outbox.ts";
import { Receiver } from "./receiver.ts";
import { releaseWhenNotified } from "./release_when_notified.ts";
import { sendFiber } from "./send_fiber.ts";
import { SysService } from "./sys_service.ts";
import { WaiterService } from "./waiter_service.ts";
import { zcRuntime } from "./zc_runtime.ts";

/** How a connection is set up; the stream layer has validated every field. */
export interface ConnectionConfig {
  readonly transport: "tcp" | "udp";
  /** The send strategy; "auto" chooses per chunk by `policy` and what the kernel reports. */
  readonly backend: BackendChoice;
  /** What "auto" prefers per chunk size and transport. */
  readonly policy: SizePolicy;
  /** After the kernel reports copies, bytes sent by copy before zero-copy is tried again. */
  readonly reprobeBytes: number;
  /** Owned bytes (queued and in flight) above which write() waits. */
  readonly maxOwnedBytes: number;
  /**
   * Whether zcio made the socket: then `closeWrite()` half-closes TCP. `zcWritable(fd)` works on a
   * duplicate of the program's fd and leaves the socket itself to the program. Either way the fd the
   * connection holds is zcio's own, closed at release, so its number is never reused while zcio
   * still reads it.
   */
  readonly ownsSocket: boolean;
  /** Staging ring size in bytes: how much of small chunks may be queued before write() waits. */
  readonly stagingBytes: number;
  /** Whether large whole-buffer chunks of the caller's are taken over (detached) to go zero-copy. */
  readonly transferBuffers: boolean;
  /** Bound on plain (unregistered) lease memory: unwritten, queued and in flight. */
  readonly maxLeaseBytes: number;
  /** Chunks below this size are copied into staging; larger ones are borrowed. */
  readonly stageBelow: number;
  /** Largest read in bytes (for UDP, the largest datagram received whole). */
  readonly readSize: number;
}

/** Counters of one connection, as `stats()` returns them. */
export interface ConnectionStats extends SendStatsSnapshot {
  /** Bytes read from the socket. */
  readonly bytesReceived: number;
}

export class Connection {
  readonly #sendDone: Promise<void>;
  #markSendDone!: () => void;
  #writeClosed = false;
  #released: Promise<void> | undefined;

  private constructor(
    readonly fd: number,
    readonly config: ConnectionConfig,
    readonly sys: Sys,
    private readonly scope: Scope.Closeable,
    readonly outbox: Outbox,
    readonly receiver: Receiver,
    private readonly watch: FdWatch,
    /** The largest chunk one write may carry: for UDP, the largest datagram of the address family. */
    readonly maxChunkBytes: number,
  ) {
    this.#sendDone = new Promise((resolve) => (this.#markSendDone = resolve));
  }

  /** Takes charge of `fd` (already connected and non-blocking) and starts its send fiber. */
  static open(fd: number, config: ConnectionConfig): Promise<Connection> {
    return zcRuntime().runPromise(Connection.#acquire(fd, config));
  }

  static #acquire(fd: number, config: ConnectionConfig) {
    return Effect.gen(function* () {
      const sys = yield* SysService;
      const waiter = yield* WaiterService;
      const scope = yield* Scope.make();
      const udp = config.transport === "udp";
      const stats = new SendStats();
      const slab = yield* Effect.try({
        try: () => Slab.map(sys, BACKEND_CONTROL_BYTES + config.stagingBytes),
        catch: (e) => e as ZcioError,
      });
      const watch = waiter.watch(fd);
      // The queue and the backend call the outbox, made last, only once writes come.
      const queue: SendQueue = new SendQueue(
        slab.bytes.subarray(BACKEND_CONTROL_BYTES, BACKEND_CONTROL_BYTES + config.stagingBytes),
        slab.addr + BACKEND_CONTROL_BYTES,
        !udp,
        (view) => outbox.borrowedDone(view),
        new OwnedBuffers((view) => outbox.leases.giveBack(view)),
      );
      const socket: BackendSocket = {
        sys,
        waiter,
        fd,
        udp,
        control: slab,
        queue,
        stats,
        reprobeBytes: config.reprobeBytes,
        watchErrorQueue: (owed) => owed ? waiter.arm(watch, POLLERR) : waiter.disarm(watch, POLLERR),
        wake: () => outbox.wakeUp(),
      };
      const backend = config.backend === "auto" ? openAuto(socket, config.policy.bands(config.transport, sys.runtime)) : openBackend(config.backend, socket);
      const auto = backend instanceof AutoBackend ? backend : undefined;
      const release = (memoryStillRead: boolean) => {
        backend.close();
        if (!memoryStillRead) slab.unmap();
        waiter.forget(watch);
        sys.close(fd);
      };
      // Runs after the send fiber has stopped (scope finalizers run in reverse order).
      yield* Scope.addFinalizer(
        scope,
        Effect.sync(() => releaseWhenNotified(backend, stats, waiter, watch, release)),
      );
      const outbox: Outbox = new Outbox(
        queue,
        stats,
        backend,
        config.stageBelow,
        backend.name !== "copy",
        config.transferBuffers,
        config.maxOwnedBytes,
        new LeasePool(sys, backend.leases, config.maxLeaseBytes, () => queue.owned.bytes),
        auto,
        udp ? undefined : new FileSender(sys, fd),
      );
      const receiver = new Receiver(sys, fd, waiter, watch, config.readSize, udp);
      const connection = new Connection(
        fd,
        config,
        sys,
        scope,
        outbox,
        receiver,
        watch,
        maxChunkBytes(sys, fd, udp),
      );
      yield* Effect.forkIn(
        sendFiber(sys, outbox, waiter, watch).pipe(
          Effect.catchTag("ZcioError", (error) => Effect.sync(() => outbox.fail(error))),
          Effect.ensuring(Effect.sync(() => connection.#markSendDone())),
        ),
        scope,
      );
      return connection;
    });
  }

  /** The connection's leases: memory zcio owns, which zero-copy backends send without copying. */
  get leases(): LeasePool {
    return this.outbox.leases;
  }

  /** Records a validated chunk (empty only over UDP, as an empty datagram); see {@link Outbox.write}. */
  write(chunk: Uint8Array, size?: number): Promise<void> | undefined {
    return this.outbox.write(chunk, size);
  }

  /** Queues a file after every chunk recorded so far (TCP only); see {@link Outbox.sendFile}. */
  sendFile(send: FileSend): Promise<void> {
    return this.outbox.sendFile(send);
  }

  /**
   * Ends writing once every accepted byte is in the kernel; for a TCP socket zcio owns, the peer
   * then reads end of stream. Rejects with the error that ended sending, if one did.
   */
  async closeWrite(): Promise<void> {
    if (!this.#writeClosed) {
      this.#writeClosed = true;
      this.outbox.close();
      await this.#sendDone;
      if (this.outbox.error === undefined && this.config.ownsSocket && this.config.transport === "tcp") {
        this.sys.shutdown(this.fd, SHUT_WR);
      }
    } else {
      await this.#sendDone;
    }
    if (this.outbox.error !== undefined) throw this.outbox.error;
  }

  /** Ends writing at once: queued bytes are dropped and every pending write fails with `reason`. */
  abortWrite(reason?: unknown): void {
    this.#writeClosed = true;
    this.outbox.fail(
      reason instanceof ZcioError
        ? reason
        : new ZcioError({ code: "ABORTED", message: `writing was aborted${reason === undefined ? "" : `: ${String(reason)}`}` }),
    );
    // A send fiber waiting for the socket to drain must stop now, not when (if ever) the peer reads;
    // a resume of a wait that already ended is ignored.
    this.watch.onWritable(0);
  }

  /** Whether writing has ended (closed or aborted). */
  get writeClosed(): boolean {
    return this.#writeClosed;
  }

  /**
   * Closes the connection: finishes writing (every accepted byte reaches the kernel), stops
   * reading, and releases the fd and all memory. Idempotent.
   */
  close(): Promise<void> {
    return (this.#released ??= (async () => {
      this.outbox.leases.close(closedError());
      let failure: unknown;
      try {
        await this.closeWrite();
      } catch (e) {
        failure = e;
      }
      this.receiver.end();
      await zcRuntime().runPromise(Scope.close(this.scope, Exit.void));
      const error = this.outbox.error;
      if (failure !== undefined && error?.code !== "ABORTED" && error?.code !== "CLOSED") throw failure;
    })());
  }

  /** Releases everything now: pending writes fail with ABORTED and queued bytes are dropped. */
  abort(reason?: unknown): Promise<void> {
    if (this.outbox.error === undefined) this.abortWrite(reason);
    return this.close();
  }

  /** Counters of this connection. */
  stats(): ConnectionStats {
    return { ...this.outbox.stats.snapshot(), bytesReceived: this.receiver.bytes };
  }
}

/** 65535 less the IP and UDP headers: 65507 bytes over IPv4, 65527 over IPv6; no limit for TCP. */
const maxChunkBytes = (sys: Sys, fd: number, udp: boolean): number => {
  if (!udp) return Infinity;
  const domain = new Int32Array(1);
  sys.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, new Uint8Array(domain.buffer));
  return domain[0] === AF_INET6 ? 65527 : 65507;
};
