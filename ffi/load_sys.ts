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

const importAdapter = async (): Promise<Sys> => {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const runtime = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
  // Each adapter is type-checked by its own runtime's checker (tsc with bun-types, `deno check`), so
  // the specifier is not a literal that one checker would follow into another runtime's adapter. A
  // template with a fixed folder lets `deno publish` see which files it can name.
  const adapter: Record<string, Sys> = await import(`./${runtime}/${runtime}_sys.ts`);
  return adapter[`${runtime}Sys`];
};
