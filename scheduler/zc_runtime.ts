/**
 * The process-wide Effect runtime zcio runs its per-connection programs on: the runtime's Sys
 * adapter and one fd waiter, built once on first use.
 *
 * @module
 */
import * as Layer from "effect/Layer";
import * as ManagedRuntime from "effect/ManagedRuntime";
import { SysService } from "./sys_service.ts";
import { WaiterService } from "./waiter_service.ts";

const layer = WaiterService.layer.pipe(Layer.provideMerge(SysService.layer));

/** The runtime every zcio connection's program runs on. */
export type ZcRuntime = ManagedRuntime.ManagedRuntime<SysService | WaiterService, never>;

let runtime: ZcRuntime | undefined;

/** The process's runtime, made on first use. */
export const zcRuntime = (): ZcRuntime => (runtime ??= ManagedRuntime.make(layer));
