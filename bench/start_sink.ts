/**
 * Starts `sink_server.ts` in a child process of the same runtime and returns its port.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Sink {
  readonly port: number;
  stop(): void;
}

export const startSink = (): Promise<Sink> =>
  new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL("./sink_server.ts", import.meta.url));
    const g = globalThis as { Deno?: { execPath(): string } };
    const args = g.Deno ? ["run", "-A", script] : [script];
    const child = spawn(g.Deno ? g.Deno.execPath() : process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    child.on("error", reject);
    child.stdout!.once("data", (line: Buffer) => {
      resolve({ port: Number(String(line).trim()), stop: () => child.kill() });
    });
  });
