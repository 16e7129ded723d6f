/**
 * The `copy` backend: the socket's direct sender (`sendmsg` for a stream, `sendmmsg` for datagrams)
 * with no zero-copy attached. The kernel copies every byte during the call, so nothing stays in
 * flight. msg_zerocopy is the same sender with a {@link MsgZerocopy} attached.
 *
 * @module
 */
import type { BackendSocket } from "./backend.ts";
import { DATAGRAM_SENDER_CONTROL_BYTES, DatagramSender } from "./datagram_sender.ts";
import type { DirectSender } from "./direct_sender.ts";
import type { MsgZerocopy } from "./msg_zerocopy.ts";
import { STREAM_SENDER_CONTROL_BYTES, StreamSender } from "./stream_sender.ts";

/** Control memory the direct sender takes at the start of the connection's: either kind fits. */
export const DIRECT_CONTROL_BYTES = Math.max(STREAM_SENDER_CONTROL_BYTES, DATAGRAM_SENDER_CONTROL_BYTES);

/** The socket's direct sender, sending owned runs with MSG_ZEROCOPY when `zerocopy` is given. */
export const directSender = (socket: BackendSocket, zerocopy: MsgZerocopy | undefined): DirectSender =>
  socket.udp ? new DatagramSender(socket.sys, socket.fd, socket.control, 0, zerocopy) : new StreamSender(socket.sys, socket.fd, socket.control, 0, zerocopy);

/** Opens `copy`: it runs on every socket. */
export const openCopy = (socket: BackendSocket): DirectSender => directSender(socket, undefined);
