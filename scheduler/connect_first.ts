/**
 * Connects to whichever of several addresses (those a host name resolves to) answers first, as
 * RFC 8305 ("Happy Eyeballs") races them: the attempts start in order, each one
 * {@link ATTEMPT_DELAY_MS} after the one before it or at once when an attempt fails, and run side by
 * side; the first connected socket wins and every other one is closed.
 *
 * @module
 */
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import { decodeSockaddr } from "../ffi/sockaddr.ts";
import { ZcioError } from "../ffi/zcio_error.ts";
import { closeSocket, connectSocket, DEFAULT_TCP_OPTIONS, type TcpSocketOptions } from "./connect_socket.ts";
import { SysService } from "./sys_service.ts";
import { WaiterService } from "./waiter_service.ts";

/** RFC 8305's recommended Connection Attempt Delay, which node:net's `autoSelectFamily` uses too. */
export const ATTEMPT_DELAY_MS = 250;

/**
 * A connected, non-blocking socket fd for the first of `addresses` (encoded sockaddrs of
 * `hostname`) to answer. Fails with the one attempt's error for a single address, and with one
 * error naming every address and why it failed when all of them fail. Interrupting it closes
 * every socket it opened.
 */
export const connectFirst = (
  hostname: string,
  addresses: readonly Uint8Array[],
  transport: "tcp" | "udp",
  tcp: TcpSocketOptions = DEFAULT_TCP_OPTIONS,
): Effect.Effect<number, ZcioError, SysService | WaiterService> => {
  if (addresses.length === 1) return connectSocket(addresses[0], transport, tcp);
  return Effect.gen(function* () {
    const sys = yield* SysService;
    const waiter = yield* WaiterService;
    // started[i] completes when attempt i may start; the first attempt may at once.
    const started = addresses.map(() => Deferred.makeUnsafe<void>());
    const start = (i: number) => Deferred.doneUnsafe(started[i], Effect.void);
    const errors: ZcioError[] = [];
    let connected = false;
    start(0);
    const attempt = (address: Uint8Array, i: number) =>
      Effect.gen(function* () {
        if (i > 0) {
          yield* Deferred.await(started[i - 1]);
          yield* Effect.raceFirst(Effect.sleep(ATTEMPT_DELAY_MS), Deferred.await(started[i]));
          start(i);
        }
        if (connected) return yield* Effect.interrupt;
        const fd = yield* connectSocket(address, transport, tcp).pipe(
          Effect.tapError((error) =>
            Effect.sync(() => {
              errors[i] = error;
              // A failure starts the next attempt that is still waiting, without its delay.
              const next = started.findIndex((s) => !Deferred.isDoneUnsafe(s));
              if (next >= 0) start(next);
            })
          ),
        );
        // Another attempt may have connected in the meantime: only the first one is kept.
        if (connected) {
          closeSocket(sys, waiter, fd);
          return yield* Effect.interrupt;
        }
        connected = true;
        return fd;
      });
    return yield* Effect.raceAll(addresses.map(attempt)).pipe(
      Effect.catch(() => Effect.fail(allFailed(hostname, addresses, errors))),
    );
  });
};

/** The error of a connect that failed at every address, naming each with its failure. */
const allFailed = (hostname: string, addresses: readonly Uint8Array[], errors: readonly ZcioError[]): ZcioError => {
  const { port } = decodeSockaddr(addresses[0]);
  const each = addresses.map((address, i) => `${decodeSockaddr(address).hostname}: ${errors[i].code}`);
  return new ZcioError({
    code: errors[0].code,
    errno: errors[0].errno,
    message: `connecting to ${hostname} port ${port} failed at each of its ${addresses.length} addresses ` +
      `(${each.join(", ")}); the first: ${errors[0].message}`,
  });
};
