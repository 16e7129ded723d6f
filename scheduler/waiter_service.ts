/**
 * The process's fd readiness {@link Waiter} as an Effect service, closed with its scope.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { Waiter } from "../ffi/waiter.ts";
import { SysService } from "./sys_service.ts";

export class WaiterService extends Context.Service<WaiterService, Waiter>()("zcio/Waiter") {
  static readonly layer = Layer.effect(
    WaiterService,
    Effect.acquireRelease(
      Effect.gen(function* () {
        return new Waiter(yield* SysService);
      }),
      (waiter) => Effect.sync(() => waiter.close()),
    ),
  );
}
