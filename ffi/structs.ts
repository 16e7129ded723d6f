/**
 * Encoders for the C structs zcio hands the kernel, written into mmap'd memory through a DataView.
 * Layouts are x86_64 (docs/kernel.md, 'Struct layouts'). 64-bit fields are written as two 32-bit halves so that
 * no BigInt is ever made. Every encoder writes all fields, so no stale byte survives reuse.
 *
 * @module
 */

export const IOVEC_SIZE = 16;
export const MSGHDR_SIZE = 56;
export const MMSGHDR_SIZE = 64;
export const CMSGHDR_SIZE = 16;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** Room for either sockaddr, as the kernel may write it. */
export const SOCKADDR_STORAGE_SIZE = 128;

const TWO_32 = 4294967296;

/** Writes a u64 (an address or size below 2^53) at `offset`. */
export const setU64 = (d: DataView, offset: number, value: number): void => {
  d.setUint32(offset, value >>> 0, true);
  d.setUint32(offset + 4, Math.floor(value / TWO_32), true);
};

/** Reads a u64 below 2^53. */
export const getU64 = (d: DataView, offset: number): number => d.getUint32(offset, true) + d.getUint32(offset + 4, true) * TWO_32;

/** `struct iovec { void *iov_base; size_t iov_len; }` */
export const setIovec = (d: DataView, offset: number, base: number, length: number): void => {
  setU64(d, offset, base);
  setU64(d, offset + 8, length);
};

/**
 * `struct msghdr`: name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48.
 * Addresses of 0 mean NULL.
 */
export const setMsghdr = (
  d: DataView,
  offset: number,
  name: number,
  nameLength: number,
  iov: number,
  iovCount: number,
  control: number,
  controlLength: number,
): void => {
  setU64(d, offset, name);
  d.setUint32(offset + 8, nameLength, true);
  d.setUint32(offset + 12, 0, true);
  setU64(d, offset + 16, iov);
  setU64(d, offset + 24, iovCount);
  setU64(d, offset + 32, control);
  setU64(d, offset + 40, controlLength);
  d.setUint32(offset + 48, 0, true);
  d.setUint32(offset + 52, 0, true);
};

/** `msghdr.msg_flags`, as the kernel returns it from recvmsg. */
export const msghdrFlags = (d: DataView, offset: number): number => d.getUint32(offset + 48, true);

/** `msghdr.msg_controllen`, as the kernel returns it from recvmsg. */
export const msghdrControlLength = (d: DataView, offset: number): number => getU64(d, offset + 40);

/** `struct mmsghdr.msg_len`: the bytes sendmmsg sent for this message. */
export const mmsghdrLength = (d: DataView, offset: number): number => d.getUint32(offset + 56, true);

/** `CMSG_ALIGN(n)`. */
export const cmsgAlign = (n: number): number => (n + 7) & ~7;

/** `struct stat` on x86_64: `st_dev` at 0, `st_ino` at 8, `st_mode` at 24, `st_size` at 48. */
export const STAT_SIZE = 144;

/** The fields of a `struct stat` zcio reads. */
export interface FileStat {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly size: number;
}

/** Decodes the fields zcio reads from a `struct stat` that `fstat` filled. */
export const decodeStat = (d: DataView): FileStat => ({
  dev: getU64(d, 0),
  ino: getU64(d, 8),
  mode: d.getUint32(24, true),
  size: getU64(d, 48),
});
