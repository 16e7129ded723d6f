/**
 * An unconnected UDP socket bound to an address: it receives datagrams from any peer, each with the
 * address it came from, and sends datagrams to any address. Both directions copy through one
 * mmap'd region (the datagram and its `msghdr`, `iovec` and address), so neither a caller's buffer
 * nor its address ever reaches the kernel. Waiting for POLLIN/POLLOUT goes through the waiter.
 *
 * @module
 */
import { EAGAIN, EINTR, MSG_DONTWAIT, MSG_NOSIGNAL, POLLIN, POLLOUT, SOCK_DGRAM } from "../ffi/constants.ts";
import { byteLengthOf, setBytes } from "../ffi/intrinsics.ts";
import { Slab } from "../ffi/slab.ts";
import { decodeSockaddr, type NetAddr } from "../ffi/sockaddr.ts";
import { IOVEC_SIZE, MSGHDR_SIZE, setIovec, setMsghdr, SOCKADDR_STORAGE_SIZE } from "../ffi/structs.ts";
import type { Ptr } from "../ffi/sys.ts";
import { errnoError } from "../ffi/zcio_error.ts";
import { BoundSocket } from "./bound_socket.ts";
import { closedError } from "./outbox.ts";

/** One datagram as received: its bytes and the address of the peer that sent it. */
export interface Datagram {
  /** The datagram's bytes (empty for an empty datagram), the program's own copy. */
  readonly data: Uint8Array;
  /** Where it came from: the address to send a reply to. */
  readonly remoteAddr: NetAddr;
}

/** The largest datagram a send carries: 65535 less the IPv6 and UDP headers. */
export const MAX_DATAGRAM_BYTES = 65527;

// The region: a msghdr, iovec and address for each direction, then the two datagram buffers.
const HEADER_BYTES = MSGHDR_SIZE + IOVEC_SIZE + SOCKADDR_STORAGE_SIZE;
const RECEIVE = 0;
const SEND = HEADER_BYTES;
const DATA = 2 * HEADER_BYTES;

export class DatagramSocket {
  readonly #slab: Slab;
  readonly #receiveMsg: Ptr;
  readonly #sendMsg: Ptr;
  readonly #received: Uint8Array;
  readonly #outgoing: Uint8Array;
  #closed = false;
  #receiving = true;
  #readable: Promise<void> | undefined;
  #markReadable: (() => void) | undefined;
  #writable: Promise<void> | undefined;
  #markWritable: (() => void) | undefined;
  // Made once: a wait allocates its promise, never a closure of its own.
  readonly #armReadable = (resolve: () => void): void => {
    this.#markReadable = resolve;
    this.socket.waiter.arm(this.socket.watch, POLLIN);
  };
  readonly #armWritable = (resolve: () => void): void => {
    this.#markWritable = resolve;
    this.socket.waiter.arm(this.socket.watch, POLLOUT);
  };

  private constructor(private readonly socket: BoundSocket, readSize: number) {
    const slab = Slab.map(socket.sys, DATA + readSize + MAX_DATAGRAM_BYTES);
    this.#slab = slab;
    this.#received = slab.bytes.subarray(DATA, DATA + readSize);
    this.#outgoing = slab.bytes.subarray(DATA + readSize, DATA + readSize + MAX_DATAGRAM_BYTES);
    for (const [at, buffer] of [[RECEIVE, this.#received], [SEND, this.#outgoing]] as const) {
      setIovec(slab.data, at + MSGHDR_SIZE, slab.addr + buffer.byteOffset, buffer.byteLength);
      const name = slab.addr + at + MSGHDR_SIZE + IOVEC_SIZE;
      setMsghdr(slab.data, at, name, SOCKADDR_STORAGE_SIZE, slab.addr + at + MSGHDR_SIZE, 1, 0, 0);
    }
    this.#receiveMsg = slab.pointerAt(RECEIVE);
    this.#sendMsg = slab.pointerAt(SEND);
    socket.watch.onReadable = () => this.#wakeReaders();
    socket.watch.onWritable = () => this.#wakeWriters();
  }

  /** Binds a UDP socket to `address` (an encoded sockaddr); datagrams up to `readSize` bytes arrive whole. */
  static async open(address: Uint8Array, readSize: number): Promise<DatagramSocket> {
    const socket = await BoundSocket.open(address, SOCK_DGRAM);
    try {
      return new DatagramSocket(socket, readSize);
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  /** The bound address (with the real port when 0 was asked for). */
  get addr(): NetAddr {
    return this.socket.addr;
  }

  /** The next datagram from any peer, or null once the socket is closed. Throws a ZcioError. */
  async read(): Promise<Datagram | null> {
    const d = this.#slab.data;
    for (;;) {
      if (!this.#receiving) return null;
      d.setUint32(RECEIVE + 8, SOCKADDR_STORAGE_SIZE, true); // msg_namelen: room for the sender's address
      const n = this.socket.sys.recvmsg(this.socket.fd, this.#receiveMsg, MSG_DONTWAIT);
      if (n >= 0) {
        const name = RECEIVE + MSGHDR_SIZE + IOVEC_SIZE;
        return {
          data: this.#received.slice(0, n),
          remoteAddr: decodeSockaddr(this.#slab.bytes.subarray(name, name + d.getUint32(RECEIVE + 8, true))),
        };
      }
      if (n === -EINTR) continue;
      if (n !== -EAGAIN) throw errnoError("recvmsg", n);
      await (this.#readable ??= new Promise(this.#armReadable));
    }
  }

  /**
   * Sends `data` (at most {@link MAX_DATAGRAM_BYTES}, already validated) as one datagram to
   * `address` (an encoded sockaddr), copying it into the region when it goes out: a send that has
   * to wait for room reads `data` only then. Sends that wait keep their order. Throws a ZcioError.
   */
  async send(data: Uint8Array, address: Uint8Array): Promise<void> {
    const d = this.#slab.data, name = SEND + MSGHDR_SIZE + IOVEC_SIZE;
    for (;;) {
      if (this.#closed) throw closedError();
      if (this.#writable === undefined) {
        setBytes(this.#outgoing, data, 0);
        this.#slab.bytes.set(address, name);
        d.setUint32(SEND + 8, address.length, true);
        setIovec(d, SEND + MSGHDR_SIZE, this.#slab.addr + this.#outgoing.byteOffset, byteLengthOf(data));
        const n = this.socket.sys.sendmsg(this.socket.fd, this.#sendMsg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return;
        if (n === -EINTR) continue;
        if (n !== -EAGAIN) throw errnoError("sendmsg", n);
        this.#writable = new Promise(this.#armWritable);
      }
      await this.#writable;
    }
  }

  /** Stops receiving: a pending read, and every later one, returns null. Sends go on. */
  end(): void {
    this.#receiving = false;
    this.socket.waiter.disarm(this.socket.watch, POLLIN);
    this.#wakeReaders();
  }

  /** Closes the socket: pending reads return null, pending sends fail with CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#receiving = false;
    this.socket.close();
    this.#slab.unmap();
    this.#wakeReaders();
    this.#wakeWriters();
  }

  #wakeReaders(): void {
    const mark = this.#markReadable;
    this.#readable = this.#markReadable = undefined;
    mark?.();
  }

  #wakeWriters(): void {
    const mark = this.#markWritable;
    this.#writable = this.#markWritable = undefined;
    mark?.();
  }
}
