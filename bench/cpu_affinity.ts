/**
 * Which CPUs this thread may run on, and pinning the whole process to some of them
 * (sched_getaffinity, sched_setaffinity), with which `start_sink.ts` gives the sink a core of its
 * own.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import type { Sys } from "../ffi/sys.ts";
import { Slab } from "../ffi/slab.ts";

const SYS_sched_setaffinity = 203, SYS_sched_getaffinity = 204;
const ESRCH = 3;
/** Bytes of the CPU mask: 1024 CPUs. */
const MASK_BYTES = 128;

/** The CPUs the calling thread may run on, lowest first (empty if the kernel will not say). */
export const allowedCpus = (sys: Sys): number[] => {
  const mask = Slab.map(sys, MASK_BYTES);
  try {
    const size = sys.syscall6(SYS_sched_getaffinity, 0, MASK_BYTES, mask.addr, 0, 0, 0);
    const cpus: number[] = [];
    for (let cpu = 0; cpu < Math.max(size, 0) * 8; cpu++) {
      if ((mask.bytes[cpu >> 3] & (1 << (cpu & 7))) !== 0) cpus.push(cpu);
    }
    return cpus;
  } finally {
    mask.unmap();
  }
};

/**
 * Restricts every thread of this process, and the threads and processes they start from now on, to
 * `cpus`. False if the kernel refuses for one of them (a thread that has ended meanwhile aside).
 */
export const pinProcess = (sys: Sys, cpus: readonly number[]): boolean => {
  const mask = Slab.map(sys, MASK_BYTES);
  try {
    for (const cpu of cpus) mask.bytes[cpu >> 3] |= 1 << (cpu & 7);
    return readdirSync("/proc/self/task").every((tid) => {
      const r = sys.syscall6(SYS_sched_setaffinity, Number(tid), MASK_BYTES, mask.addr, 0, 0, 0);
      return r === 0 || r === -ESRCH;
    });
  } finally {
    mask.unmap();
  }
};
