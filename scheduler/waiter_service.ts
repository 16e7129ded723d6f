/**
 * The process's fd readiness {@link Waiter} as an Effect service, closed with its scope.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
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
