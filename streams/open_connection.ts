/**
 * Wraps a connected socket fd as a {@link ZcConnection}; shared by `zcConnect` and `zcListen`.
 *
 * @module
 */
import { loadSys } from "../ffi/load_sys.ts";
import { Connection, type ConnectionConfig } from "../scheduler/connection.ts";
import { ZcConnection } from "./zc_connection.ts";

/** The ZcConnection over `fd`; on failure the fd is closed if zcio owns it. */
export const openConnection = async (fd: number, config: ConnectionConfig): Promise<ZcConnection> => {
  const sys = await loadSys();
  try {
    return new ZcConnection(await Connection.open(fd, config), sys);
  } catch (e) {
    if (config.ownsFd) sys.close(fd);
    throw e;
  }
};
