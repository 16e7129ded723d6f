/**
 * The downgrade both zero-copy backends share: after a COPIED report the socket sends by copy, and
 * each re-probe the kernel copies again doubles the wait before the next. Nothing here sends or
 * times anything.
 */
import { CopiedDowngrade, MAX_REPROBE_DOUBLINGS } from "../../backends/copied_downgrade.ts";
import { SendStats } from "../../backends/send_stats.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { reprobesAfter } from "./reprobes_after.ts";

const MiB = 1 << 20;
const REPROBE = 4 * MiB;

test("copied_downgrade: each re-probe the kernel copies again doubles the wait before the next, up to MAX_REPROBE_DOUBLINGS; a zero-copied answer starts over", () => {
  const stats = new SendStats();
  const d = new CopiedDowngrade("copied (test)", REPROBE);
  const answers: number[] = [];
  d.onVerdict = (copiedInARow) => answers.push(copiedInARow);
  for (const times of [1, 2, 4, 8, 16, 16]) {
    d.report(true, MiB, stats);
    assert(reprobesAfter(d, times * REPROBE), `re-probes after ${times} x reprobeBytes`);
  }
  assertEquals(MAX_REPROBE_DOUBLINGS, 4, "at most 16x");
  assertEquals(answers, [1, 2, 3, 4, 5, 6], "each copied answer counted and passed on");
  assertEquals(stats.downgrades, 6);
  // A probe's later copies (sends still in flight when it downgraded) are one answer, not more.
  d.report(true, MiB, stats);
  d.report(true, MiB, stats);
  assertEquals(answers.length, 7);
  assert(reprobesAfter(d, 16 * REPROBE));
  // The route changed: the re-probe is zero-copied, and the next copy waits reprobeBytes again.
  d.report(false, MiB, stats);
  assertEquals([d.copiedInARow, answers.at(-1)], [0, 0]);
  d.report(true, MiB, stats);
  assert(reprobesAfter(d, REPROBE));
});
