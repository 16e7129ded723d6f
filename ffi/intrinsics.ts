/**
 * The typed-array accessors zcio trusts, taken once at load (as Node's primordials are): code that
 * later replaces `%TypedArray%.prototype`'s getters, or defines its own on a view, cannot make zcio
 * read a view's address or length from a lie, which would send memory outside the view.
 *
 * Every view whose address or length may reach the kernel is read through these, never through
 * `.byteLength`, `.byteOffset`, `.buffer`, `.subarray` or `.set` looked up at call time. Each is a
 * plain function taking the view as its first argument: the captured built-in, called through
 * `Function.prototype.call` bound once, so nothing is looked up on the view, on `Function.prototype`
 * or on `Reflect` per call, and nothing is allocated.
 *
 * @example
 * ```ts
 * import { byteLengthOf } from "./intrinsics.ts";
 * const length = byteLengthOf(chunk); // the view's real length, whatever its getters say
 * ```
 *
 * @module
 */

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (name: PropertyKey, proto: object = TypedArrayPrototype) => Object.getOwnPropertyDescriptor(proto, name)!.get!;
const bufferGetter = getter("buffer");
const byteOffsetGetter = getter("byteOffset");
const byteLengthGetter = getter("byteLength");
const call = Function.prototype.call;
const bind = Function.prototype.bind;
// `getter.call(view)` would look `call` up at run time; these are bound once.
const uncurry = <F>(f: unknown): F => bind.call(call, f) as F;

/** The ArrayBuffer a view views. */
export const bufferOf = uncurry<(view: Uint8Array) => ArrayBufferLike>(bufferGetter);
/** Where a view starts in its buffer. */
export const byteOffsetOf = uncurry<(view: Uint8Array) => number>(byteOffsetGetter);
/** A view's length in bytes (0 when its buffer is detached or shrank below it). */
export const byteLengthOf = uncurry<(view: Uint8Array) => number>(byteLengthGetter);

/** The Uint8Array constructor as it was at load. */
export const Uint8ArrayCtor: Uint8ArrayConstructor = Uint8Array;

/** `%TypedArray%.prototype[Symbol.toStringTag]`: "Uint8Array" etc. for a typed array, undefined for anything else. */
export const typedArrayNameOf = uncurry<(value: unknown) => string | undefined>(getter(Symbol.toStringTag));

/** `%TypedArray%.prototype.at`: throws a TypeError for a view out of bounds (detached, or its buffer shrunk). */
export const elementAt = uncurry<(view: Uint8Array, index: number) => unknown>(
  (TypedArrayPrototype as { at: unknown }).at,
);

/** `%TypedArray%.prototype.set`: copies the real bytes of `source` into `target` at `offset`. */
export const setBytes = uncurry<(target: Uint8Array, source: Uint8Array, offset: number) => void>(
  (TypedArrayPrototype as { set: unknown }).set,
);

/** `ArrayBuffer.prototype.byteLength`: an ArrayBuffer's real length (throws for a SharedArrayBuffer). */
export const arrayBufferByteLengthOf = uncurry<(buffer: ArrayBuffer) => number>(
  getter("byteLength", ArrayBuffer.prototype),
);

/**
 * A new plain Uint8Array of the bytes `[begin, end)` of `view` (indices into the view, clamped to
 * it), made from the view's real buffer and offset: unlike `view.subarray()`, it asks neither the
 * view's getters nor its species constructor.
 */
export const subarrayOf = (view: Uint8Array, begin: number, end: number): Uint8Array => {
  const length = byteLengthOf(view);
  const from = Math.min(Math.max(begin, 0), length);
  const to = Math.min(Math.max(end, from), length);
  return new Uint8ArrayCtor(bufferOf(view), byteOffsetOf(view) + from, to - from);
};

// ArrayBuffer.prototype.transfer where the runtime has it (not Node 20), and structuredClone.
const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer, newLength?: number) => ArrayBuffer }).transfer;
const clone = structuredClone;

/**
 * The contents of `buffer` in a new ArrayBuffer, `buffer` detached: no bytes are copied. Through
 * `transfer` where there is one (a few times cheaper), else a structured clone that transfers it.
 */
export const moveOut = (buffer: ArrayBuffer): ArrayBuffer => transfer !== undefined ? transfer.call(buffer) : clone(buffer, { transfer: [buffer] });

/**
 * Detaches `buffer` and lets its contents go, through `transfer(0)` (the runtime needs it; Node 20
 * has none). Only for memory the runtime does not own, such as mapped memory, which letting go
 * leaves where it is; in Bun this costs about half of {@link moveOut}, which makes a new
 * ArrayBuffer over the memory.
 */
export const letGo = (buffer: ArrayBuffer): void => {
  transfer!.call(buffer, 0);
};
