/** A check the re-probe tests share (`copied_downgrade_test.ts`, `chunk_router_test.ts`). */
import type { CopiedDowngrade } from "../../backends/copied_downgrade.ts";

/** Whether `d`, downgraded, re-probes once exactly `bytes` more have gone by copy (not one byte before). */
export const reprobesAfter = (d: CopiedDowngrade, bytes: number): boolean => {
  d.countCopied(bytes - 1);
  const early = d.enabled;
  d.countCopied(1);
  return !early && d.enabled;
};
