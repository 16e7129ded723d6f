/**
 * probe() against this kernel (Linux 6.18, root): MSG_ZEROCOPY is there, SCM_ZC_NOTIFICATION (never
 * merged) is refused with EINVAL, and the limits that make MSG_ZEROCOPY fail with ENOBUFS are read.
 */
import { readFileSync } from "node:fs";
import { probe } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { sys } from "../helpers.ts";

test("probe: msg_zerocopy is available; SCM_ZC_NOTIFICATION is not, for EINVAL; memlock and optmem are numbers", async () => {
  const p = await probe();
  assertEquals(p.runtime, sys.runtime);
  assertEquals(p.kernel, readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
  assertEquals(p.msgZerocopy.available, true, `msgZerocopy: ${p.msgZerocopy.reason}`);
  assertEquals(p.msgZerocopy.reason, undefined);
  assertEquals(p.scmZcNotification.available, false, "SCM_ZC_NOTIFICATION was never merged");
  assert(
    typeof p.scmZcNotification.reason === "string" && /\bEINVAL\b/.test(p.scmZcNotification.reason),
    `the reason names EINVAL: ${p.scmZcNotification.reason}`,
  );
  assert(typeof p.memlockBytes === "number" && p.memlockBytes > 0, `memlockBytes: ${p.memlockBytes}`);
  const limits = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max locked memory"))!;
  const soft = limits.split(/\s{2,}/)[1];
  assertEquals(p.memlockBytes, soft === "unlimited" ? Infinity : Number(soft), `RLIMIT_MEMLOCK soft limit (${limits})`);
  assert(typeof p.optmemMax === "number" && Number.isInteger(p.optmemMax), `optmemMax: ${p.optmemMax}`);
  assertEquals(p.optmemMax, Number(readFileSync("/proc/sys/net/core/optmem_max", "utf8").trim()), "net.core.optmem_max");
  assert(await probe() === p, "probed once per process: the same answer after");
});
