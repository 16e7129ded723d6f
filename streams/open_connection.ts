/**
 * Wraps a connected socket fd as a {@link ZcConnection}; shared by `zcConnect` and `zcListen`.
 *
 * @module
 */
import { loadSys } from "../ffi/load_sys.ts";
import { errnoError } from "../ffi/zcio_error.ts";
import { setTcpOptions, type TcpSocketOptions } from "../scheduler/connect_socket.ts";
import { Connection, type ConnectionConfig } from "../scheduler/connection.ts";
import { ZcConnection } from "./zc_connection.ts";

/** The ZcConnection over `fd`, a TCP socket first set to `tcp` if given; on failure the fd is closed. */
export const openConnection = async (fd: number, config: ConnectionConfig, tcp?: TcpSocketOptions): Promise<ZcConnection> => {
  const sys = await loadSys();
  try {
    if (tcp !== undefined) {
      const set = setTcpOptions(sys, fd, tcp);
      if (set < 0) throw errnoError("setsockopt", set);
    }
    return new ZcConnection(await Connection.open(fd, config), sys);
  } catch (e) {
    sys.close(fd);
    throw e;
  }
};
