/**
 * The key of `[Symbol.asyncDispose]()`, the method `await using` calls. Runtimes without the symbol
 * (Node 20 before 20.4) get `Symbol.for("Symbol.asyncDispose")`, the key polyfills use.
 *
 * @module
 */

/** `Symbol.asyncDispose`, or where it is missing the registered symbol polyfills use. */
export const asyncDispose: typeof Symbol.asyncDispose =
  ((Symbol as { asyncDispose?: symbol }).asyncDispose ?? Symbol.for("Symbol.asyncDispose")) as typeof Symbol.asyncDispose;
