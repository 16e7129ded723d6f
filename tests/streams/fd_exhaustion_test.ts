/**
 * Running out of fds (EMFILE), for every backend in BACKENDS, in a child process that lowers its
 * own RLIMIT_NOFILE (fd_exhaustion_child.ts) and fills every fd left: zcConnect and the listener's
 * accept() must reject within 5 s with a ZcioError EMFILE (errno 24) whose message says to close
 * fds or raise RLIMIT_NOFILE, not hang or crash; and once fds are freed the connection that waited
 * in the accept queue is accepted and a new one opened, each carrying seeded bytes checked by
 * SHA-256. Afterwards the limit is back where it was.
 *
 * Twice: "warm", in a process where zcio has carried bytes before (a connection opened then keeps
 * carrying bytes at the limit, and the child ends with the fds it started with), and "cold", where
 * zcio's first wait on an fd comes at the limit (so whatever zcio starts once per process to wait
 * with must not need an fd there, or must fail cleanly and start later).
 */
import { assert, assertEquals, test } from "../harness.ts";
import { BACKENDS, runChild } from "../reliability.ts";

interface Failure {
  code: string;
  errno?: number;
  message?: string;
}

const assertEmfile = (failure: Failure, what: string): void => {
  assertEquals(failure.code, "EMFILE", `${what}: ${failure.message ?? ""}`);
  assertEquals(failure.errno, 24, `${what}: errno`);
  assert(failure.message!.includes("RLIMIT_NOFILE"), `${what}: a message that says what to do: ${failure.message}`);
};

for (const backend of BACKENDS) {
  for (const mode of ["warm", "cold"] as const) {
    test(`fd exhaustion (${backend}, ${mode}): zcConnect and accept() reject EMFILE at RLIMIT_NOFILE, and connections work again once fds are freed`, async () => {
      const r = await runChild(new URL("./fd_exhaustion_child.ts", import.meta.url), { args: [backend, mode], timeoutMs: 60_000 });
      assertEquals(r.status, 0, `the child exited 0 (signal ${r.signal}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
      const report = r.report as {
        limit: number;
        fillers: number;
        connectAtLimit: Failure;
        acceptAtLimit: Failure;
        establishedAtLimit?: boolean;
        queuedCarries: boolean;
        freshCarries: boolean;
        limitRestored: boolean;
        fdsAtStart: number;
        fdsAtEnd: number;
      };
      assert(report !== undefined, `the child reported: ${r.stdout}`);
      assert(report.fillers > 0, "the fds left under the lowered limit were filled");
      assertEmfile(report.connectAtLimit, "zcConnect with no fd free");
      assertEmfile(report.acceptAtLimit, "accept() with no fd free");
      if (mode === "warm") assert(report.establishedAtLimit, "a connection opened before carried bytes at the limit");
      assert(report.queuedCarries, "the connection queued while accept() failed was accepted afterwards and carried bytes");
      assert(report.freshCarries, "a new connection carried bytes both ways once fds were freed");
      assert(report.limitRestored, "RLIMIT_NOFILE was restored");
      if (mode === "warm") assertEquals(report.fdsAtEnd, report.fdsAtStart, "the child's open fds at the end");
      console.log(
        `fd exhaustion (${backend}, ${mode}): limit ${report.limit} with ${report.fillers} filler sockets; zcConnect ${report.connectAtLimit.code}, ` +
          `accept() ${report.acceptAtLimit.code}; afterwards the queued and a new connection carried verified bytes; fds ${report.fdsAtStart} -> ${report.fdsAtEnd}; ${r.ms} ms`,
      );
    });
  }
}
