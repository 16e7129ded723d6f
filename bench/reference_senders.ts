/**
 * The C reference senders of `bench/reference/`, built with the system's C compiler (`$CC`, else
 * `cc`) into a temporary directory when the reference bench starts, and run one process per run:
 *
 * - `tcp_send`: blocking `send()` of one reused buffer into the TCP sink;
 * - `tcp_sendfile`: blocking `sendfile(2)` of a file into the TCP sink (for `send_file_bench.ts`);
 * - `udp_sendmsg copy|zerocopy`: `sendmsg`, or `sendmsg(MSG_ZEROCOPY)` reaping the error queue;
 * - `udp_io_uring send|send_zc|send_zc_fixed`: io_uring SEND, SEND_ZC, and SEND_ZC from a
 *   registered buffer, 8 requests per submit, through the raw system calls (no liburing).
 *
 * A program that does not build (no compiler, no `<linux/io_uring.h>`, ...) is left out with the
 * reason, and its rows say so. Each program times itself, from `socket()` to its last completion,
 * so that starting a process is not measured.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const C_PROGRAMS = ["tcp_send", "tcp_sendfile", "udp_sendmsg", "udp_io_uring"] as const;
export type CProgram = typeof C_PROGRAMS[number];

/** Per program: the path of its binary, or why there is none. */
export type CBinaries = Record<CProgram, { readonly path: string } | { readonly skipped: string }>;

/** What one run of a C sender reports. */
export interface CRun {
  readonly bytes: number;
  readonly ns: number;
  /** Sends the kernel notified as copied (zero-copy modes), else -1. */
  readonly copiedSends: number;
  /** The sender process's CPU time (user + system) until it reported. */
  readonly cpuNs: number;
}

/** The sources: next to this file, or, for Node's compiled bench in dist/bench/, in the repository's bench/. */
const SOURCES = fileURLToPath(new URL(import.meta.url.endsWith(".js") ? "../../bench/reference/" : "./reference/", import.meta.url));

/** Builds every program into a new temporary directory; `remove()` deletes it. */
export const buildCSenders = (): { binaries: CBinaries; remove: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "zcio-reference-"));
  const cc = process.env.CC ?? "cc";
  const binaries = {} as Record<CProgram, { path: string } | { skipped: string }>;
  for (const program of C_PROGRAMS) {
    const path = join(dir, program);
    const built = spawnSync(cc, ["-O2", "-Wall", "-o", path, join(SOURCES, `${program}.c`)], { encoding: "utf8" });
    if (built.error !== undefined) {
      binaries[program] = { skipped: `no C compiler: ${cc} did not start (${(built.error as { code?: string }).code}); set CC or install one` };
    } else if (built.status !== 0) {
      const error = built.stderr.split("\n").find((l) => /error/.test(l)) ?? built.stderr.trim().split("\n")[0] ?? "";
      const header = /([\w/]+\.h): No such file/.exec(error)?.[1];
      binaries[program] = { skipped: header !== undefined ? `<${header}> not found (${cc} ${program}.c)` : `${cc} ${program}.c failed: ${error.trim()}` };
    } else {
      binaries[program] = { path };
    }
  }
  return { binaries, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

/** Runs a built C sender with `args` and resolves with its report; rejects with its stderr if it fails. */
export const runCSender = (path: string, args: readonly string[]): Promise<CRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout!.on("data", (b: Uint8Array) => (out += String(b)));
    child.stderr!.on("data", (b: Uint8Array) => (err += String(b)));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(JSON.parse(out) as CRun);
      else reject(new Error(`${path} ${args.join(" ")} exited with ${code}: ${err.trim()}`));
    });
  });
