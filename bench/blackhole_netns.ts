/**
 * The UDP blackhole sink: a private network namespace (`unshare -n`) whose loopback drops every
 * packet at its qdisc (`ip link set lo up; tc qdisc add dev lo root pfifo limit 0`), so datagrams
 * to 127.0.0.1 there are never delivered and the kernel really sends them without copying
 * (docs/kernel.md, 'Zero-copy sinks'). Only a process inside the namespace can send there: a bench runs its worker
 * script (same runtime) under `unshare -n`, and the worker calls {@link assertInBlackhole} before it
 * sends anything, so nothing ever goes to a network outside a namespace the bench made itself.
 * The namespace disappears when the worker exits.
 *
 * @example
 * ```ts
 * const result = await runInBlackhole<MyReport>("my_worker", ["--quick"], progress, "[my_worker");
 * if (typeof result === "string") console.log(`UDP blackhole skipped: ${result}`);
 * ```
 *
 * @module
 */
import { readlinkSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runReportingChild } from "./reporting_child.ts";

/** The shell commands that make the namespace's loopback a blackhole. */
export const BLACKHOLE_SETUP = "ip link set lo up && tc qdisc add dev lo root pfifo limit 0";

/** Why this process cannot make the namespace, or undefined when it can (root). */
export const blackholeUnavailable = (): string | undefined =>
  process.getuid?.() === 0 ? undefined : "needs root (a private network namespace with a dropping qdisc); run as root to include it";

/**
 * Runs `script` (a module next to this one, named without extension) in this runtime inside a new
 * blackhole namespace, with `args`. Lines of its stderr that start with `progressPrefix` go to
 * `onProgress`; the last line of its stdout is its report (JSON). Resolves with that report, or
 * with a sentence saying why there is none. `denoFlags` are added for Deno (e.g. --unstable-net),
 * `env` to the worker's environment.
 */
export const runInBlackhole = <T>(
  script: string,
  args: readonly string[],
  onProgress: (line: string) => void,
  progressPrefix: string,
  { denoFlags = [], env = {} }: { denoFlags?: readonly string[]; env?: Record<string, string> } = {},
): Promise<T | string> => {
  const unavailable = blackholeUnavailable();
  if (unavailable !== undefined) return Promise.resolve(unavailable);
  const ext = import.meta.url.endsWith(".js") ? "js" : "ts"; // Node runs the compiled bench
  const path = fileURLToPath(new URL(`./${script}.${ext}`, import.meta.url));
  const g = globalThis as { Deno?: { execPath(): string } };
  const runtime = g.Deno ? [g.Deno.execPath(), "run", "-A", ...denoFlags, path] : [process.execPath, path];
  const argv = ["-n", "sh", "-c", `${BLACKHOLE_SETUP} && exec "$@"`, "sh", ...runtime, ...args];
  const reported = runReportingChild<T>("unshare", argv, progressPrefix, onProgress, {
    ...env,
    ZCIO_PARENT_NETNS: readlinkSync("/proc/self/ns/net"),
  });
  return reported.then((r) => (typeof r === "string" ? `the worker in a private network namespace: ${r}` : r));
};

/** Throws unless this process runs in a namespace other than the parent's (a worker's guard). */
export const assertInBlackhole = (): void => {
  const own = readlinkSync("/proc/self/ns/net");
  const parent = process.env.ZCIO_PARENT_NETNS;
  if (parent === undefined || parent === own) {
    throw new Error(`not in a private network namespace (${own}); refusing to send`);
  }
};
