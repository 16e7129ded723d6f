/**
 * Decoding of the MSG_ZEROCOPY notifications `recvmsg(MSG_ERRQUEUE)` returns (docs/kernel.md, 'MSG_ZEROCOPY notifications'):
 * one cmsg (SOL_IP/IP_RECVERR on IPv4, SOL_IPV6/IPV6_RECVERR on IPv6) whose data is a 16-byte
 * `sock_extended_err` { u32 ee_errno; u8 ee_origin, ee_type, ee_code, ee_pad; u32 ee_info (lo);
 * u32 ee_data (hi) }.
 *
 * @module
 */
import { IP_RECVERR, IPV6_RECVERR, SO_EE_CODE_ZEROCOPY_COPIED, SO_EE_ORIGIN_ZEROCOPY, SOL_IP, SOL_IPV6 } from "./constants.ts";
import { cmsgAlign, CMSGHDR_SIZE, getU64 } from "./structs.ts";

/** Control space for one notification: 60 bytes on IPv6, rounded up with room to spare. */
export const NOTIFICATION_CONTROL_BYTES = 128;

/** Where {@link decodeZerocopyNotification} puts what it found. Reused, never reallocated. */
export interface ZerocopyRange {
  /** First and last send id covered, inclusive (u32, may wrap). */
  lo: number;
  hi: number;
  /** The kernel copied the data after all (SO_EE_CODE_ZEROCOPY_COPIED). */
  copied: boolean;
}

/**
 * Reads the notification in `control[offset, offset + length)` into `out`. Returns false when the
 * control data holds no zerocopy notification (some other queued error).
 */
export const decodeZerocopyNotification = (
  d: DataView,
  offset: number,
  length: number,
  out: ZerocopyRange,
): boolean => {
  let at = offset;
  const end = offset + length;
  while (at + CMSGHDR_SIZE <= end) {
    const cmsgLength = getU64(d, at);
    if (cmsgLength < CMSGHDR_SIZE || at + cmsgLength > end) return false;
    const level = d.getInt32(at + 8, true), type = d.getInt32(at + 12, true);
    const isRecvErr = (level === SOL_IP && type === IP_RECVERR) || (level === SOL_IPV6 && type === IPV6_RECVERR);
    if (isRecvErr && cmsgLength >= CMSGHDR_SIZE + 16 && d.getUint8(at + CMSGHDR_SIZE + 4) === SO_EE_ORIGIN_ZEROCOPY) {
      const err = at + CMSGHDR_SIZE;
      out.copied = (d.getUint8(err + 6) & SO_EE_CODE_ZEROCOPY_COPIED) !== 0;
      out.lo = d.getUint32(err + 8, true);
      out.hi = d.getUint32(err + 12, true);
      return true;
    }
    at += cmsgAlign(cmsgLength);
  }
  return false;
};
