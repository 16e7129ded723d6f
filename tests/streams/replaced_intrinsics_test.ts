/**
 * Replaced `%TypedArray%.prototype` getters: code in the same process that redefines `byteLength`,
 * `byteOffset` and `buffer` after zcio loaded must not make zcio send anything but the bytes of the
 * chunks written (zcio reads every view through intrinsics it captured at load).
 *
 * For every backend, over a real loopback TCP connection, chunks of several sizes (1 KiB, around
 * the 16 KiB staging boundary, 64 KiB, 1 MiB; views inside canary-filled buffers, and a whole
 * buffer) are written while the getters lie about those chunks: `byteLength` claims more than the
 * view (1 MiB, or 8 KiB more so that a small chunk is still staged), `byteOffset` claims another
 * offset and `buffer` another, canary-filled ArrayBuffer. The getters lie only for the test's own
 * chunks, so that the runtime's stream machinery and the receive path keep working, and only until
 * the writes have been awaited: they are restored before the reader is awaited and anything is
 * asserted. The peer must receive exactly the chunks' bytes, and no canary byte.
 */
import { BACKEND_NAMES, type BackendChoice } from "../../mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { concat, connectedPair, hashOf, readAll, withTimeout } from "../helpers.ts";

const KiB = 1024;
const SIZES = [KiB, 16 * KiB - 1, 16 * KiB, 16 * KiB + 1, 64 * KiB, 1024 * KiB];
const BACKENDS: readonly BackendChoice[] = [...BACKEND_NAMES, "auto"];
/** Canary bytes are all >= 0x80; payload bytes are all < 0x80. */
const CANARY = 0xca;
const MARGIN = 4 * KiB;

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const NAMES = ["byteLength", "byteOffset", "buffer"] as const;
const original = Object.fromEntries(
  NAMES.map((name) => [name, Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!]),
) as Record<(typeof NAMES)[number], PropertyDescriptor>;
const realLength = original.byteLength.get! as (this: unknown) => number;

/** A canary-filled buffer that the lying `buffer` getter hands out (larger than any claimed range). */
const FAKE_BUFFER = new ArrayBuffer(4 * 1024 * KiB);
new Uint8Array(FAKE_BUFFER).fill(0xfe);

type Lie = "huge" | "slight";

/**
 * Makes the getters lie about every view in `liars` (and answer truly for any other view) until
 * the returned function restores them.
 */
const lieAbout = (liars: ReadonlySet<unknown>, lie: Lie): () => void => {
  const honest = (name: (typeof NAMES)[number]) => original[name].get! as (this: unknown) => unknown;
  const define = (name: (typeof NAMES)[number], lying: (this: Uint8Array) => unknown) =>
    Object.defineProperty(TypedArrayPrototype, name, {
      configurable: true,
      enumerable: original[name].enumerable,
      get(this: Uint8Array) {
        return liars.has(this) ? lying.call(this) : honest(name).call(this);
      },
    });
  define("byteLength", function () {
    return lie === "huge" ? 1 << 20 : realLength.call(this) + 8 * KiB;
  });
  define("byteOffset", () => 64);
  define("buffer", () => FAKE_BUFFER);
  return () => {
    for (const name of NAMES) Object.defineProperty(TypedArrayPrototype, name, original[name]);
  };
};

/** Views of payload (bytes < 0x80) with canary bytes around them in their buffers, and one whole buffer. */
const makeChunks = (seed: number): Uint8Array[] => {
  const chunks: Uint8Array[] = [];
  let x = seed;
  const payload = (view: Uint8Array) => {
    for (let i = 0; i < view.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      view[i] = (x >>> 16) & 0x7f;
    }
  };
  for (const size of SIZES) {
    const buffer = new ArrayBuffer(MARGIN + size + MARGIN);
    new Uint8Array(buffer).fill(CANARY);
    const view = new Uint8Array(buffer, MARGIN, size);
    payload(view);
    chunks.push(view);
  }
  const whole = new Uint8Array(64 * KiB);
  payload(whole);
  chunks.push(whole);
  return chunks;
};

for (const lie of ["huge", "slight"] as const) {
  for (const backend of BACKENDS) {
    test(`replaced %TypedArray%.prototype getters (${lie} byteLength, ${backend}): the peer gets exactly the chunks`, async () => {
      const pair = await connectedPair("127.0.0.1", { backend });
      try {
        const chunks = makeChunks(backend.length * 7919 + (lie === "huge" ? 1 : 2));
        const expected = concat(chunks.map((c) => c.slice()));
        const received = readAll(pair.server.readable);
        received.catch(() => {});
        const writer = pair.client.writable.getWriter();
        const liars = new Set<unknown>(chunks);
        let failure: unknown;
        const restore = lieAbout(liars, lie);
        try {
          for (const chunk of chunks) await withTimeout(writer.write(chunk), 30_000, `write of ${realLength.call(chunk)} bytes`);
        } catch (e) {
          failure = e;
        } finally {
          restore();
        }
        // Checked only now: a failed assertion must not run with the getters lying.
        assertEquals(realLength.call(new Uint8Array(3)), 3, "the getters are restored");
        if (failure !== undefined) {
          await writer.abort(failure).catch(() => {});
          throw failure;
        }
        await withTimeout(writer.close(), 30_000, "close");
        const got = await withTimeout(received, 30_000, "the peer's read");
        let canary = 0;
        for (let i = 0; i < got.length; i++) if (got[i] >= 0x80) canary++;
        let firstDiff = -1;
        for (let i = 0; i < Math.min(got.length, expected.length); i++) {
          if (got[i] !== expected[i]) {
            firstDiff = i;
            break;
          }
        }
        assertEquals(
          { length: got.length, canaryBytes: canary, firstDiff },
          { length: expected.length, canaryBytes: 0, firstDiff: -1 },
          "received bytes",
        );
        assert(hashOf(got) === hashOf(expected), "the peer received exactly the chunks' bytes");
      } finally {
        await pair.close();
      }
    });
  }
}
