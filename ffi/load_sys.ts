/**
 * Loads the {@link Sys} adapter of the runtime this code runs in.
 *
 * @example
 * ```ts
 * const sys = await loadSys();
 * const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
 * ```
 *
 * @module
 */
import type { Sys } from "./sys.ts";

let loaded: Promise<Sys> | undefined;

/** The adapter for this runtime, loaded once per process. */
export const loadSys = (): Promise<Sys> => (loaded ??= importAdapter());

// Each adapter is type-checked by its own runtime's checker (tsc with bun-types, `deno check`), so
// the specifiers are not literals that one checker would follow into another runtime's adapter.
const adapters = { bun: "./bun/bun_sys.ts", deno: "./deno/deno_sys.ts", node: "./node/node_sys.ts" };

const importAdapter = async (): Promise<Sys> => {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const runtime = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
  const adapter: Record<string, Sys> = await import(adapters[runtime]);
  return adapter[`${runtime}Sys`];
};
