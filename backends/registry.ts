/**
 * Every backend, by name: one line each. A backend's file exports its {@link OpenBackend}; the
 * names are {@link BACKEND_NAMES}, and the type checker holds this table and that list to the same
 * set.
 *
 * @module
 */
import type { BackendName } from "../ffi/backend_names.ts";
import { type Backend, type BackendSocket, BackendUnavailable, type OpenBackend } from "./backend.ts";
import { DIRECT_CONTROL_BYTES, openCopy } from "./copy.ts";
import { openIoUring } from "./io_uring.ts";
import { MSG_ZEROCOPY_CONTROL_BYTES, openMsgZerocopy } from "./msg_zerocopy.ts";
import type { SendStats } from "./send_stats.ts";

export const BACKENDS = {
  copy: openCopy,
  msg_zerocopy: openMsgZerocopy,
  io_uring: openIoUring,
} as const satisfies Record<BackendName, OpenBackend>;

/** Control memory a connection lends its backends, at the start of its slab. */
export const BACKEND_CONTROL_BYTES = DIRECT_CONTROL_BYTES + MSG_ZEROCOPY_CONTROL_BYTES;

/**
 * Opens the backend a stream asked for, or where it cannot run there, the one it names instead
 * (io_uring, then msg_zerocopy, then copy, which always runs), with each reason in stats.
 */
export const openBackend = (name: BackendName, socket: BackendSocket): Backend => {
  for (;;) {
    const opened = BACKENDS[name](socket);
    if (!(opened instanceof BackendUnavailable)) return opened;
    name = opened.instead;
    downgrade(socket.stats, `${opened.reason}; using ${name}`);
  }
};

/** Records in stats why a connection sends otherwise than it was asked to. */
export const downgrade = (stats: SendStats, reason: string): void => {
  stats.downgrades++;
  stats.downgradeReasons.push(reason);
};
