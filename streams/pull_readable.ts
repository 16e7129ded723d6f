/**
 * The ReadableStream over a socket's receiving side: it reads only when the stream wants more, so
 * what the program does not read yet stays in the kernel's buffer (real backpressure).
 *
 * @module
 */

/** What a socket's receiving side offers: the next item or null at its end, and a way to stop. */
export interface ReadSource<T> {
  read(): Promise<T | null>;
  end(): void;
}

/** A stream of what `source` reads, ending when it returns null; cancelling it ends `source`. */
export const pullReadable = <T>(source: ReadSource<T>): ReadableStream<T> =>
  new ReadableStream<T>({
    pull: async (controller) => {
      const item = await source.read();
      if (item === null) controller.close();
      else controller.enqueue(item);
    },
    cancel: () => source.end(),
  }, { highWaterMark: 0 });
