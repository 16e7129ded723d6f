/**
 * A process that exits while io_uring sends are in flight (a chain waiting in the kernel for
 * socket room, notifications outstanding, leases of the registered pool in use) ends normally:
 * the kernel tears the ring down; nothing crashes. Run in child processes (io_uring_child.ts, mode
 * `exit`), a few times.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { childOutput, runUringChild } from "./io_uring_spawn.ts";

test("io_uring exit: exiting with requests in flight (sends waiting in the kernel, notifications due) ends with status 0, no signal, every time", () => {
  for (let run = 0; run < 3; run++) {
    const r = runUringChild("exit", { args: ["later"], timeoutMs: 30_000 });
    assert(r.report !== undefined, `the child reported: ${childOutput(r)}`);
    // spawnSync reports status null when a signal ended the child: 0 means it exited by itself.
    assertEquals(r.status, 0, `run ${run}: exit status (null: a signal)\n${childOutput(r)}`);
    const c = r.report as { busy: boolean; inflight: number; stats: { bytes: { io_uring: number } } };
    assert(c.busy, `run ${run}: a chain was still in the kernel at exit: ${JSON.stringify(c)}`);
    assert(c.stats.bytes.io_uring > 0, `run ${run}: some requests had completed: ${JSON.stringify(c)}`);
    assert(r.stderr.trim() === "", `run ${run}: nothing on stderr: ${r.stderr}`);
  }
});

test("io_uring exit: exiting in the same task as the writes (requests prepared, not yet entered) ends with status 0", () => {
  const r = runUringChild("exit", { args: ["now"], timeoutMs: 30_000 });
  assertEquals(r.status, 0, `exit status (null: a signal)\n${childOutput(r)}`);
  assert(r.report !== undefined && r.stderr.trim() === "", childOutput(r));
  assert((r.report as { busy: boolean }).busy, `a chain was prepared in the ring at exit: ${r.stdout}`);
});
