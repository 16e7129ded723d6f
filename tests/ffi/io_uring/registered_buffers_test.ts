/**
 * The registered buffer region: registration, the first-fit slice allocator (against a model),
 * EBUSY, unregistering, and ENOMEM under a small RLIMIT_MEMLOCK, for real: as root the test drops
 * CAP_IPC_LOCK from this thread's effective set for the duration (capset), which is what makes the
 * kernel charge pinned pages to the limit; plus the failure-result mapping as a unit.
 */
import { EBUSY, EFAULT, EINVAL, ENOMEM, IORING_CQE_F_MORE, IORING_CQE_F_NOTIF, RLIMIT_MEMLOCK } from "../../../ffi/constants.ts";
import { RegisteredBuffers, registrationFailure } from "../../../ffi/io_uring/registered_buffers.ts";
import { Ring } from "../../../ffi/io_uring/ring.ts";
import { Slab } from "../../../ffi/slab.ts";
import { assert, assertEquals, test } from "../../harness.ts";
import { drainInto, pattern, sys, tcpPair } from "./loopback.ts";

const newRing = (entries = 8): Ring => {
  const setup = Ring.setup(sys, entries);
  if (!setup.ok) throw new Error(`io_uring setup failed: ${setup.reason}`);
  return setup.ring;
};

const registered = (ring: Ring, size: number, unit?: number): RegisteredBuffers => {
  const reg = RegisteredBuffers.register(sys, ring, size, unit ? { unit } : {});
  if (!reg.ok) throw new Error(`registration failed: ${reg.reason}`);
  return reg.buffers;
};

test("registered_buffers: one page-aligned region, registered once; slices handed out first-fit", () => {
  const ring = newRing();
  const bufs = registered(ring, 100_000);
  assertEquals(bufs.size, 102400, "rounded up to whole pages");
  assertEquals(bufs.addr % 4096, 0);
  assertEquals(bufs.bytes.length, bufs.size);
  assertEquals(bufs.bufIndex, 0);
  assert(bufs.registered);
  assertEquals([bufs.usedBytes, bufs.freeBytes, bufs.largestFree()], [0, 102400, 102400]);
  const a = bufs.alloc(1), b = bufs.alloc(4096), c = bufs.alloc(4097), d = bufs.alloc(0);
  assertEquals([a, b, c, d], [0, 4096, 8192, 16384], "consecutive slices, whole units");
  assertEquals([bufs.sizeOf(a), bufs.sizeOf(c), bufs.sizeOf(4096 + 1), bufs.sizeOf(20480)], [4096, 8192, 0, 0]);
  assertEquals(bufs.usedBytes, 20480);
  assertEquals(bufs.alloc(102400), -1, "larger than any free run");
  assertEquals(bufs.alloc(Number.NaN), -1, "nonsense sizes get nothing");
  assert(bufs.free(b));
  assert(!bufs.free(b), "a second free is refused");
  assert(!bufs.free(b + 1) && !bufs.free(-4096) && !bufs.free(1 << 30), "offsets that were never handed out");
  assertEquals(bufs.alloc(4096), b, "first fit reuses the hole");
  for (const off of [a, b, c, d]) assert(bufs.free(off));
  assertEquals([bufs.usedBytes, bufs.largestFree()], [0, 102400], "everything merged back into one run");
  const all: number[] = [];
  for (let off; (off = bufs.alloc(4096)) >= 0;) all.push(off);
  assertEquals(all.length, 25, "25 pages, then full");
  assertEquals(bufs.alloc(1), -1);
  bufs.close();
  assert(!bufs.registered);
  bufs.close(); // idempotent
  ring.close();
});

test("registered_buffers: the allocator never hands out overlapping slices (random alloc/free against a model)", () => {
  const ring = newRing();
  const UNIT = 256, UNITS = 512;
  const bufs = registered(ring, UNIT * UNITS, UNIT);
  assertEquals(bufs.unit, UNIT);
  const owner = new Int32Array(UNITS).fill(-1); // the model: which live slice owns each unit
  const live = new Map<number, number>(); // offset → units
  let x = 12345;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  let allocs = 0, fails = 0;
  for (let step = 0; step < 20000; step++) {
    if (live.size > 0 && rnd(100) < 45) {
      const keys = [...live.keys()];
      const off = keys[rnd(keys.length)];
      assert(bufs.free(off), "free a live slice");
      const u = off / UNIT;
      for (let k = 0; k < live.get(off)!; k++) owner[u + k] = -1;
      live.delete(off);
    } else {
      const bytes = 1 + rnd(rnd(4) === 0 ? 40 * UNIT : 4 * UNIT);
      const want = Math.ceil(bytes / UNIT);
      const off = bufs.alloc(bytes);
      if (off < 0) {
        fails++;
        // First fit over every free run: a refusal means no run of `want` free units exists.
        let run = 0, best = 0;
        for (let u = 0; u < UNITS; u++) best = Math.max(best, run = owner[u] === -1 ? run + 1 : 0);
        assert(best < want, `refused ${want} units while a free run of ${best} exists`);
        continue;
      }
      allocs++;
      assertEquals(off % UNIT, 0);
      const u = off / UNIT;
      assert(u + want <= UNITS, "inside the region");
      for (let k = 0; k < want; k++) {
        assertEquals(owner[u + k], -1, `unit ${u + k} is not in another live slice`);
        owner[u + k] = off;
      }
      assertEquals(bufs.sizeOf(off), want * UNIT);
      live.set(off, want);
    }
    const used = [...live.values()].reduce((s, n) => s + n, 0) * UNIT;
    assertEquals(bufs.usedBytes, used);
  }
  for (const off of live.keys()) assert(bufs.free(off));
  assertEquals(bufs.largestFree(), UNIT * UNITS, "all merged again");
  assert(allocs > 5000 && fails > 0, `exercised both outcomes: ${allocs} allocations, ${fails} refusals`);
  bufs.close();
  ring.close();
});

test("registered_buffers: a second table on the same ring is EBUSY; after unregister, fixed sends fail with EFAULT and are still notified", () => {
  const ring = newRing();
  const bufs = registered(ring, 65536);
  const again = RegisteredBuffers.register(sys, ring, 65536);
  assert(!again.ok, "a second registration fails");
  assertEquals([again.errno, again.code, again.fallback], [EBUSY, "EBUSY", "unregistered_send_zc"]);
  assert(again.reason.includes("already has a registered buffer table"), again.reason);
  assertEquals(bufs.unregister(), 0);
  assertEquals(bufs.unregister(), 0, "idempotent");
  const { a, b, close } = tcpPair();
  bufs.bytes.set(pattern(1000, 1));
  ring.prepSendZcFixed(ring.getSqe(), a, bufs.addr, 1000, 0, 0, 9, 0);
  ring.submit();
  const seen: number[][] = [];
  for (let i = 0; i < 100 && seen.length < 2; i++) {
    ring.submitAndWait(10, 1);
    ring.getEvents();
    ring.reap((ud, res, flags) => seen.push([ud, res, flags]));
  }
  assertEquals(seen, [[9, -EFAULT, IORING_CQE_F_MORE], [9, 0, IORING_CQE_F_NOTIF]]);
  assertEquals(drainInto(b, new Uint8Array(2000), 0), 0, "nothing was sent");
  close();
  bufs.close();
  ring.close();
});

test("registered_buffers: failure results say why and whether unregistered SEND_ZC remains (unit)", () => {
  const enomem = registrationFailure(ENOMEM, 1 << 20);
  assertEquals([enomem.ok, enomem.errno, enomem.code, enomem.fallback], [false, ENOMEM, "ENOMEM", "unregistered_send_zc"]);
  assert(enomem.reason.includes("1 MiB") && enomem.reason.includes("RLIMIT_MEMLOCK"), enomem.reason);
  assertEquals(registrationFailure(EINVAL, 0).fallback, "none");
  assert(registrationFailure(5, 4096).reason.includes("(errno 5)"), "an errno without advice is named");
  const ring = newRing();
  for (const size of [0, -1, (1 << 30) + 1]) {
    const r = RegisteredBuffers.register(sys, ring, size);
    assert(!r.ok && r.errno === EINVAL, `size ${size} refused before any syscall`);
  }
  const badUnit = RegisteredBuffers.register(sys, ring, 65536, { unit: 1000 });
  assert(!badUnit.ok && badUnit.errno === EINVAL && badUnit.reason.includes("power of two"), "unit must be a power of two");
  ring.close();
});

// ── ENOMEM for real ──────────────────────────────────────────────────────────────────────

const CAP_IPC_LOCK = 14;
const SYS_capget = 125, SYS_capset = 126;
const CAP_VERSION_3 = 0x20080522;

/**
 * Runs `fn` with CAP_IPC_LOCK dropped from this thread's effective set and RLIMIT_MEMLOCK's soft
 * limit at `limit` bytes, restoring both afterwards. Returns false (and does not run `fn`) if the
 * capability state cannot be changed here.
 */
const withMemlockLimit = (limit: number, fn: () => void): boolean => {
  const caps = Slab.map(sys, 4096); // header at 0, two cap_user_data_t at 64
  const old = new Uint8Array(16), low = new Uint8Array(16);
  try {
    caps.data.setUint32(0, CAP_VERSION_3, true);
    caps.data.setInt32(4, 0, true);
    if (sys.syscall6(SYS_capget, caps.addr, caps.addr + 64, 0, 0, 0, 0) !== 0) return false;
    const effective = caps.data.getUint32(64, true);
    const hadIpcLock = (effective & (1 << CAP_IPC_LOCK)) !== 0;
    if (sys.prlimit(0, RLIMIT_MEMLOCK, null, old) !== 0) return false;
    const oldView = new DataView(old.buffer), lowView = new DataView(low.buffer);
    lowView.setUint32(0, limit, true);
    lowView.setUint32(8, oldView.getUint32(8, true), true); // the hard limit stays
    lowView.setUint32(12, oldView.getUint32(12, true), true);
    if (hadIpcLock) {
      caps.data.setUint32(0, CAP_VERSION_3, true);
      caps.data.setUint32(64, effective & ~(1 << CAP_IPC_LOCK), true);
      if (sys.syscall6(SYS_capset, caps.addr, caps.addr + 64, 0, 0, 0, 0) !== 0) return false;
    }
    try {
      if (sys.prlimit(0, RLIMIT_MEMLOCK, low, null) !== 0) return false;
      fn();
      return true;
    } finally {
      sys.prlimit(0, RLIMIT_MEMLOCK, old, null);
      if (hadIpcLock) {
        caps.data.setUint32(0, CAP_VERSION_3, true);
        caps.data.setUint32(64, effective, true);
        sys.syscall6(SYS_capset, caps.addr, caps.addr + 64, 0, 0, 0, 0);
      }
    }
  } finally {
    caps.unmap();
  }
};

test("registered_buffers: over RLIMIT_MEMLOCK registration is an ENOMEM failure result; unregistered SEND_ZC then fails per request", () => {
  let ring: Ring | undefined;
  let outcome: { big?: ReturnType<typeof RegisteredBuffers.register>; small?: ReturnType<typeof RegisteredBuffers.register> } = {};
  const cqes: number[][] = [];
  const ran = withMemlockLimit(64 * 1024, () => {
    // The ring decides at creation whether to charge its owner (no CAP_IPC_LOCK): make it here.
    ring = newRing();
    outcome = {
      big: RegisteredBuffers.register(sys, ring, 1 << 20),
      small: RegisteredBuffers.register(sys, ring, 32 * 1024),
    };
    // The fallback itself: 1 MiB of unregistered SEND_ZC is charged per request, and fails the same way.
    const { a, close } = tcpPair();
    const slab = Slab.map(sys, 1 << 20);
    ring.prepSendZc(ring.getSqe(), a, slab.addr, 1 << 20, 0, 0, 3);
    ring.submit();
    for (let i = 0; i < 100 && cqes.length < 2; i++) {
      ring.submitAndWait(10, 1);
      ring.getEvents();
      ring.reap((ud, res, flags) => cqes.push([ud, res, flags]));
    }
    close();
    slab.unmap();
  });
  assert(ran, "could not lower RLIMIT_MEMLOCK and drop CAP_IPC_LOCK here");
  const { big, small } = outcome;
  assert(big !== undefined && !big.ok, "1 MiB over a 64 KiB limit is refused");
  assertEquals([big.errno, big.code, big.fallback], [ENOMEM, "ENOMEM", "unregistered_send_zc"]);
  assert(big.reason.includes("RLIMIT_MEMLOCK"), big.reason);
  assert(small !== undefined && small.ok, "32 KiB fits under the limit");
  assertEquals(cqes, [[3, -ENOMEM, IORING_CQE_F_MORE], [3, 0, IORING_CQE_F_NOTIF]], "unregistered 1 MiB: -ENOMEM, still notified");
  small.buffers.close();
  ring!.close();
  // With the limit back, the same registration works.
  const again = newRing();
  const reg = RegisteredBuffers.register(sys, again, 1 << 20);
  assert(reg.ok, "1 MiB registers once the limit is restored");
  reg.buffers.close();
  again.close();
});
