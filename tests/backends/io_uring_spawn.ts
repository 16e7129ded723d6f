/**
 * Not a test file: runs io_uring_child.ts (in `mode`) through tests/child_process.ts, optionally in
 * a private network namespace whose loopback drops every packet at the qdisc (`unshare -n`, `ip link
 * set lo up`, `tc qdisc add dev lo root pfifo limit 0`; docs/kernel.md, 'Zero-copy sinks'). Nothing there reaches a
 * real network: the namespace has only its own `lo`, and the child refuses to send unless it is in
 * a namespace other than the test's. Needs root (CI is root) and iproute2 (.ci/run installs it).
 *
 * @module
 */
import { type ChildResult, currentNetns, privateNetns, runChild, runtimeCommand } from "../child_process.ts";

export { type ChildResult, describe as childOutput } from "../child_process.ts";

/** The child's JSON report: the tests read it field by field. */
// deno-lint-ignore no-explicit-any
export type ChildReport = Record<string, any>;

const BLACKHOLE = ["ip link set lo up", "tc qdisc add dev lo root pfifo limit 0"];

/** Runs the child program in `mode` (then `args`); with `blackhole`, inside the dropping namespace. */
export const runUringChild = (
  mode: string,
  options: { blackhole?: boolean; timeoutMs?: number; args?: string[] } = {},
): ChildResult =>
  runChild(runtimeCommand(import.meta.url, "io_uring_child", [mode, ...(options.args ?? [])]), {
    wrapper: options.blackhole ? privateNetns(BLACKHOLE) : [],
    env: { ZCIO_PARENT_NETNS: currentNetns() },
    timeoutMs: options.timeoutMs ?? 60_000,
  });
