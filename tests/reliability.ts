/**
 * Shared pieces of the reliability and safety suite (hostile chunks, faults, soak, many
 * connections): the backends every scenario runs for, SHA-256 of streams, child processes of this
 * runtime (optionally in a private network namespace), GC, peak RSS sampling and RLIMIT_NOFILE.
 *
 * Not a test file. Everything talks to 127.0.0.1 or ::1 only; kernel settings are changed only
 * inside a child's own network namespace (`unshare -n`), never in the host's.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { RLIMIT_NOFILE } from "../ffi/constants.ts";
import { BACKEND_NAMES, type BackendChoice, ZcioError } from "../mod.ts";
import { assert, assertEquals } from "./harness.ts";
import { rssBytes, sys } from "./helpers.ts";

type G = {
  Bun?: { gc(force: boolean): void };
  Deno?: { args: string[]; execPath(): string; exit(code: number): never; env: { get(name: string): string | undefined } };
  process?: { argv: string[]; execPath: string; exit(code: number): never; env: Record<string, string | undefined> };
  gc?: () => void;
};
const g = globalThis as unknown as G;

/** An environment variable (Deno needs -A, which the suite runs with). */
export const env = (name: string): string | undefined => g.Deno !== undefined ? g.Deno.env.get(name) : g.process!.env[name];

/**
 * The explicit backends every reliability scenario runs for. ZCIO_RELIABILITY_BACKENDS=copy,io_uring
 * runs a subset without editing the list.
 */
export const BACKENDS: readonly BackendChoice[] = (env("ZCIO_RELIABILITY_BACKENDS")?.split(",") as BackendChoice[] | undefined) ??
  BACKEND_NAMES;

/** The backends the soak runs: every explicit one, and what "auto" picks. */
export const SOAK_BACKENDS: readonly BackendChoice[] = [...BACKENDS, "auto"];

/** The runtime these tests run in. */
export const runtime: "bun" | "deno" | "node" = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";

/**
 * V8's gc() (Node, Deno) without --expose-gc on the command line, which `node --test` and the
 * suite's `deno test` do not pass: the flag set at run time exposes gc() in contexts made after.
 */
const v8Gc: (() => void) | undefined = await (async () => {
  if (g.Bun !== undefined) return undefined;
  if (typeof g.gc === "function") return g.gc;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const found = vm.runInNewContext("typeof gc === 'function' ? gc : undefined");
    return typeof found === "function" ? found as () => void : undefined;
  } catch {
    return undefined;
  }
})();

/** Forces a full collection where the runtime lets a program ask (Bun.gc, V8's gc); false if not. */
export const gc = (): boolean => {
  if (g.Bun !== undefined) {
    g.Bun.gc(true);
    return true;
  }
  if (v8Gc !== undefined) {
    v8Gc();
    return true;
  }
  return false;
};

/** An order-sensitive SHA-256 of every byte fed to it (native, ~1.6 GB/s), and their count. */
export class Digest {
  readonly #hash: Hash = createHash("sha256");
  length = 0;
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
    this.length += bytes.byteLength;
  }
  /** The hex digest; the Digest can no longer be updated. */
  hex(): string {
    return this.#hash.digest("hex");
  }
}

/** Samples RSS every `everyMs` until stopped; `peak` is the highest value seen (including the start). */
export class RssSampler {
  peak = rssBytes();
  readonly start = this.peak;
  readonly #timer: ReturnType<typeof setInterval>;
  constructor(everyMs = 25) {
    this.#timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): number {
    const now = rssBytes();
    if (now > this.peak) this.peak = now;
    return now;
  }
  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return this.peak;
  }
}

/** This process's soft and hard RLIMIT_NOFILE. */
export const fdLimit = (): { soft: number; hard: number } => {
  const old = new BigUint64Array(2);
  const r = sys.prlimit(0, RLIMIT_NOFILE, null, new Uint8Array(old.buffer));
  assert(r === 0, `prlimit(RLIMIT_NOFILE) failed: ${r}`);
  return { soft: Number(old[0]), hard: Number(old[1]) };
};

/**
 * Raises this process's soft RLIMIT_NOFILE to at least `wanted` (and the hard limit with it, which
 * root may do). Returns the limit before, to restore with {@link setFdLimit}.
 */
export const raiseFdLimit = (wanted: number): { soft: number; hard: number } => {
  const before = fdLimit();
  if (before.soft >= wanted) return before;
  const value = new BigUint64Array([BigInt(wanted), BigInt(Math.max(wanted, before.hard))]);
  const r = sys.prlimit(0, RLIMIT_NOFILE, new Uint8Array(value.buffer), null);
  assert(
    r === 0,
    `this test needs ${wanted} fds: RLIMIT_NOFILE is ${before.soft} (hard ${before.hard}), and raising it failed ` +
      `with ${r} (raising the hard limit needs CAP_SYS_RESOURCE); run it with \`ulimit -n ${wanted}\``,
  );
  return before;
};

/** Sets this process's RLIMIT_NOFILE. */
export const setFdLimit = (limit: { soft: number; hard: number }): void => {
  const value = new BigUint64Array([BigInt(limit.soft), BigInt(limit.hard)]);
  const r = sys.prlimit(0, RLIMIT_NOFILE, new Uint8Array(value.buffer), null);
  assert(r === 0, `prlimit(RLIMIT_NOFILE, ${limit.soft}/${limit.hard}) failed: ${r}`);
};

/** Threads of this process now. */
export const threadCount = (): number => Number(/^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);

/** A host-wide sysctl's value as this process sees it (in its own network namespace). */
export const sysctl = (path: string): string => readFileSync(`/proc/sys/${path}`, "utf8").trim();

/** What a child process did. */
export interface ChildResult {
  /** Exit code, or null if a signal ended it. */
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The last line of stdout that parses as JSON, if any. */
  readonly report: Record<string, unknown> | undefined;
  readonly ms: number;
}

export interface ChildOptions {
  /** Arguments after the script. */
  readonly args?: readonly string[];
  /**
   * Run in a private network namespace (`unshare -n`) with its loopback up, after writing each
   * `/proc/sys/...` value given here inside that namespace only.
   */
  readonly netns?: { readonly sysctls?: Readonly<Record<string, string>> };
  /**
   * Run without CAP_IPC_LOCK and with this RLIMIT_MEMLOCK (`setpriv`, `prlimit`), so the kernel
   * charges pinned pages against the limit as it does for an unprivileged user.
   */
  readonly memlockBytes?: number;
  /**
   * Run without these capabilities (`setpriv`), e.g. `dac_override` so that root meets file
   * permissions as any user does.
   */
  readonly withoutCapabilities?: readonly string[];
  /** Killed (SIGKILL) after this long; default 120 s. */
  readonly timeoutMs?: number;
}

/**
 * Runs a child script of this suite in a fresh process of this runtime. `script` is the URL of
 * the `.ts` file next to the caller (`new URL("./x_child.ts", import.meta.url)`); under Node the
 * compiled `.js` beside the compiled caller runs instead.
 */
export const runChild = (script: URL, options: ChildOptions = {}): Promise<ChildResult> => {
  const file = fileURLToPath(script).replace(/\.ts$/, import.meta.url.endsWith(".js") ? ".js" : ".ts");
  const exec = g.Deno !== undefined ? g.Deno.execPath() : g.process!.execPath;
  const runtimeArgs = g.Deno !== undefined ? ["run", "-A", file] : [file];
  let command = exec, args = [...runtimeArgs, ...(options.args ?? [])];
  if (options.netns !== undefined) {
    // In the new namespace: loopback up, the sysctls written, then the runtime itself (exec).
    const writes = Object.entries(options.netns.sysctls ?? {}).map(([path, value]) => {
      assert(/^[a-z0-9_/.]+$/.test(path) && /^[0-9 ]+$/.test(value), `a plain sysctl: ${path}=${value}`);
      return `echo ${value} > /proc/sys/${path} && `;
    }).join("");
    command = "unshare";
    args = ["-n", "--", "sh", "-c", `ip link set lo up && ${writes}exec "$@"`, "sh", exec, ...args];
  }
  if (options.memlockBytes !== undefined) {
    args = [`--memlock=${options.memlockBytes}`, "--", command, ...args];
    command = "prlimit";
  }
  const dropped = [...(options.withoutCapabilities ?? []), ...(options.memlockBytes === undefined ? [] : ["ipc_lock"])];
  if (dropped.length > 0) {
    const caps = dropped.map((cap) => `-${cap}`).join(",");
    args = [`--inh-caps=${caps}`, `--bounding-set=${caps}`, command, ...args];
    command = "setpriv";
  }
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d: unknown) => (stdout += String(d)));
    child.stderr!.on("data", (d: unknown) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", (e: unknown) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status: number | null, signal: string | null) => {
      clearTimeout(timer);
      let report: Record<string, unknown> | undefined;
      for (const line of stdout.trim().split("\n").reverse()) {
        try {
          report = JSON.parse(line);
          break;
        } catch { /* not the report line */ }
      }
      resolve({ status, signal, stdout, stderr, report, ms: Date.now() - started });
    });
  });
};

/** In a child script: its arguments after the script path. */
export const childArgs = (): string[] => g.Deno !== undefined ? g.Deno.args : g.process!.argv.slice(2);

/** In a child script: ends the process at once with `code`, whatever is still running. */
export const exitNow = (code: number): never => g.Deno !== undefined ? g.Deno.exit(code) : g.process!.exit(code);

/** Formats bytes as MiB with one decimal. */
export const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/**
 * Checks that `e` is the error of a connection the peer reset: a ZcioError with ECONNRESET (104) or
 * EPIPE (32) and a message that says what to do. Returns it.
 */
export const assertReset = (e: unknown, what: string): ZcioError => {
  assert(e instanceof ZcioError, `${what}: a ZcioError, got ${e}`);
  assert(e.code === "ECONNRESET" || e.code === "EPIPE", `${what}: code ${e.code} (${e.message})`);
  assertEquals(e.errno, e.code === "ECONNRESET" ? 104 : 32, `${what}: errno`);
  assert(/open a new one/.test(e.message), `${what}: a message that says what to do: ${e.message}`);
  return e;
};
