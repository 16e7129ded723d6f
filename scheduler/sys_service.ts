/**
 * The runtime's {@link Sys} adapter as an Effect service.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { loadSys } from "../ffi/load_sys.ts";
import type { Sys } from "../ffi/sys.ts";

export class SysService extends Context.Service<SysService, Sys>()("zcio/Sys") {
  /** Loads the adapter of the runtime this process runs in. */
  static readonly layer = Layer.effect(SysService, Effect.promise(loadSys));
}
