/**
 * `sockaddr_in` / `sockaddr_in6` encoding from numeric addresses, and decoding of what the kernel
 * returns (getsockname, getpeername). Host names are resolved above this layer.
 *
 * @example
 * ```ts
 * const addr = encodeSockaddr("127.0.0.1", 9000)!; // 16 bytes, AF_INET (undefined for a host name)
 * decodeSockaddr(addr);                            // { hostname: "127.0.0.1", port: 9000, family: "IPv4" }
 * ```
 *
 * @module
 */
import { AF_INET, AF_INET6 } from "./constants.ts";
import { SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE } from "./structs.ts";

/** A socket address as zcio reports it. */
export interface NetAddr {
  /** The numeric address, e.g. "127.0.0.1" or "::1". */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
  /** The address family. */
  readonly family: "IPv4" | "IPv6";
}

/** The 4 bytes of a dotted-quad IPv4 address, or undefined if `text` is not one. */
export const parseIPv4 = (text: string): Uint8Array | undefined => {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
};

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail), or undefined. */
export const parseIPv6 = (text: string): Uint8Array | undefined => {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = bare.indexOf("%");
  const s = zone >= 0 ? bare.slice(0, zone) : bare;
  if (!s.includes(":")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const words = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
};

/** True if `hostname` is a numeric IPv4 or IPv6 address. */
export const isIPAddress = (hostname: string): boolean => parseIPv4(hostname) !== undefined || parseIPv6(hostname) !== undefined;

/** The sockaddr for a numeric address and port; undefined if `hostname` is not numeric. */
export const encodeSockaddr = (hostname: string, port: number): Uint8Array | undefined => {
  const v4 = parseIPv4(hostname);
  if (v4) {
    const out = new Uint8Array(SOCKADDR_IN_SIZE);
    const d = new DataView(out.buffer);
    d.setUint16(0, AF_INET, true);
    d.setUint16(2, port, false);
    out.set(v4, 4);
    return out;
  }
  const v6 = parseIPv6(hostname);
  if (v6) {
    const out = new Uint8Array(SOCKADDR_IN6_SIZE);
    const d = new DataView(out.buffer);
    d.setUint16(0, AF_INET6, true);
    d.setUint16(2, port, false);
    out.set(v6, 8);
    return out;
  }
  return undefined;
};

/** The address family of an encoded sockaddr. */
export const sockaddrFamily = (addr: Uint8Array): number => addr[0] | (addr[1] << 8);

/** Decodes a sockaddr_in or sockaddr_in6 the kernel wrote. */
export const decodeSockaddr = (addr: Uint8Array): NetAddr => {
  const d = new DataView(addr.buffer, addr.byteOffset, addr.byteLength);
  const family = d.getUint16(0, true);
  const port = d.getUint16(2, false);
  if (family === AF_INET) {
    return { hostname: Array.from(addr.subarray(4, 8)).join("."), port, family: "IPv4" };
  }
  if (family === AF_INET6) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(d.getUint16(8 + 2 * i, false).toString(16));
    // An IPv4 peer of a dual-stack socket: written with its IPv4 tail, as RFC 5952 recommends.
    const mapped = words.slice(0, 6).join(":") === "0:0:0:0:0:ffff";
    return { hostname: mapped ? `::ffff:${addr.subarray(20, 24).join(".")}` : compressIPv6(words), port, family: "IPv6" };
  }
  throw new TypeError(`unknown address family ${family}`);
};

const compressIPv6 = (words: string[]): string => {
  let bestStart = -1, bestLength = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLength && j - i > 1) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  if (bestStart < 0) return words.join(":");
  return `${words.slice(0, bestStart).join(":")}::${words.slice(bestStart + bestLength).join(":")}`;
};
