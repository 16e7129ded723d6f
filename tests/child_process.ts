/**
 * Not a test file: runs a test's companion script (a `*_child.ts` next to it) in a fresh process of
 * the same runtime, optionally behind a wrapper command (`unshare -n sh -c ...`, `setpriv ...`), and
 * returns what it printed. Bun and Deno run the TypeScript source; Node, which runs the compiled
 * tests in dist/tests/, runs the compiled sibling `.js`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import process, { execPath } from "node:process";
import { fileURLToPath } from "node:url";

export interface ChildResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The last line of stdout parsed as JSON (children report there), or undefined. */
  readonly report: Record<string, unknown> | undefined;
}

/** The command line that runs `script` (a sibling of `importMetaUrl`, without extension) in this runtime. */
export const runtimeCommand = (importMetaUrl: string, script: string, args: readonly string[] = []): string[] => {
  const ext = importMetaUrl.endsWith(".js") ? ".js" : ".ts"; // Node runs the compiled tests
  const path = fileURLToPath(new URL(`./${script}${ext}`, importMetaUrl));
  const g = globalThis as { Deno?: unknown };
  // Deno's node:process execPath is the deno binary, Bun's the bun binary, Node's node.
  return g.Deno !== undefined ? [execPath, "run", "-A", path, ...args] : [execPath, path, ...args];
};

/** This process's network namespace, as `/proc/self/ns/net` names it ("net:[4026531840]"). */
export const currentNetns = (): string => readlinkSync("/proc/self/ns/net");

/**
 * Runs `command` behind `wrapper` (the wrapper ends with the program it execs, e.g. `setpriv ...`),
 * with `env` added to this process's environment. Waits at most `timeoutMs`.
 */
export const runChild = (
  command: readonly string[],
  { wrapper = [], env = {}, timeoutMs = 120_000 }: {
    wrapper?: readonly string[];
    env?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): ChildResult => {
  const argv = [...wrapper, ...command];
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
    env: { ...process.env, ...env },
  });
  const stdout = String(r.stdout ?? ""), stderr = String(r.stderr ?? "") + (r.error ? `\n${r.error}` : "");
  const last = stdout.trim().split("\n").pop() ?? "";
  let report: Record<string, unknown> | undefined;
  try {
    report = JSON.parse(last);
  } catch {
    report = undefined;
  }
  return { status: r.status, stdout, stderr, report };
};

/**
 * The wrapper that runs a program in a new, private network namespace (it disappears when the
 * program exits) after `setup`, shell commands run inside it first (`ip link set lo up`, ...). The
 * program is told the parent's namespace in ZCIO_PARENT_NETNS so it can refuse to send if it is not
 * in a namespace of its own.
 */
export const privateNetns = (setup: readonly string[]): string[] => [
  "unshare",
  "-n",
  "sh",
  "-c",
  `${[...setup, 'exec "$@"'].join(" && ")}`,
  "sh",
];

/**
 * The wrapper that runs a program with `hostsFile` bound over `/etc/hosts` in a private mount
 * namespace (`unshare -m`), so that the names it resolves stand for the addresses a test chose.
 * Nothing outside that process sees the change.
 */
export const privateHosts = (hostsFile: string): string[] => [
  "unshare",
  "-m",
  "sh",
  "-c",
  'mount --bind "$0" /etc/hosts && exec "$@"',
  hostsFile,
];

/** Throws (so a child stops before sending anything) unless this process is in a namespace other than its parent's. */
export const assertPrivateNetns = (): void => {
  const parent = process.env.ZCIO_PARENT_NETNS;
  const own = currentNetns();
  if (parent === undefined || parent === "" || parent === own) {
    throw new Error(`refusing to run: not in a private network namespace (parent ${parent}, own ${own})`);
  }
};

/** What a child failed with, for an assertion message. */
export const describe = (r: ChildResult): string => `status ${r.status}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
