/**
 * Sends a byte count through a zcio connection and resolves with the count the sink reports back.
 *
 * @module
 */
import { type BackendChoice, zcConnect } from "../mod.ts";

/** Writes `chunk` `times` times to 127.0.0.1:`port` with `backend`, closes, awaits the sink's count. */
export const sendWithZcio = async (
  port: number,
  chunk: Uint8Array,
  times: number,
  backend: BackendChoice,
): Promise<number> => {
  const conn = await zcConnect({ hostname: "127.0.0.1", port, backend });
  const writer = conn.writable.getWriter();
  for (let i = 0; i < times; i++) await writer.write(chunk);
  await writer.close();
  const reader = conn.readable.getReader();
  const answer: number[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    answer.push(...value);
  }
  await conn.close();
  return new DataView(new Uint8Array(answer).buffer).getFloat64(0, true);
};
