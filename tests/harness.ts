/**
 * One `test()` for every runtime: `bun test` and `deno test` run the same test files, and Node runs
 * their compiled form (dist/tests/) with `node --test`.
 *
 * @example
 * ```ts
 * import { test, assertEquals } from "../harness.ts";
 * test("adds", () => assertEquals(1 + 1, 2));
 * ```
 *
 * @module
 */

type TestFn = () => void | Promise<void>;

const g = globalThis as { Bun?: unknown; Deno?: { test: (t: object) => void } };
const bunTest = g.Bun !== undefined ? (await import("bun:test")).test : undefined;
const nodeTest = g.Bun === undefined && g.Deno === undefined ? (await import("node:test")).test : undefined;

/** Per-test limit: the long integrity and soak tests need minutes on a loaded 2-core machine. */
const TIMEOUT_MS = 10 * 60 * 1000;

/** Registers a test with the runtime's own runner. */
export const test = (name: string, fn: TestFn): void => {
  if (bunTest !== undefined) bunTest(name, fn, TIMEOUT_MS);
  else if (nodeTest !== undefined) nodeTest(name, { timeout: TIMEOUT_MS }, fn);
  // zcio keeps process-wide resources (the epoll waiter, an off-thread wait) across tests on
  // purpose, so Deno's per-test op and resource sanitizers do not apply.
  else g.Deno!.test({ name, fn, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });
};

/** Throws unless `actual` and `expected` are equal (deep, for plain data). */
export const assertEquals = (actual: unknown, expected: unknown, message = ""): void => {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
};

/** Throws unless `condition` holds. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Awaits `promise` and returns what it rejected with; throws if it fulfilled. */
export const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, but the promise fulfilled");
};
