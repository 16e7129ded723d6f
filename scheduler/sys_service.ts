/**
 * The runtime's {@link Sys} adapter as an Effect service.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { loadSys } from "../ffi/load_sys.ts";
import type { Sys } from "../ffi/sys.ts";

export class SysService extends Context.Service<SysService, Sys>()("zcio/Sys") {
  /** Loads the adapter of the runtime this process runs in. */
  static readonly layer = Layer.effect(SysService, Effect.promise(loadSys));
}
