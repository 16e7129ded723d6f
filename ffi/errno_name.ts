/**
 * errno numbers to their names, for error codes and messages.
 *
 * @module
 */
import * as C from "./constants.ts";

const names = new Map<number, string>();
for (const [name, value] of Object.entries(C)) {
  if (/^E[A-Z]+$/.test(name) && !name.startsWith("EPOLL") && !names.has(value)) names.set(value, name);
}

/** The errno's name (`EPIPE`), or `ERRNO_<n>` for one zcio has no name for. */
export const errnoName = (errno: number): string => names.get(errno) ?? `ERRNO_${errno}`;
