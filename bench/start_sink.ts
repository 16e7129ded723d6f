/**
 * Starts `sink_server.ts` in a child process of the same runtime and returns its port; given a CPU,
 * the sink pins itself to it.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Sink {
  readonly port: number;
  stop(): void;
}

export const startSink = (cpu?: number): Promise<Sink> =>
  new Promise((resolve, reject) => {
    // Node runs the compiled bench (dist/bench/*.js); Bun and Deno run the sources.
    const ext = import.meta.url.endsWith(".js") ? "js" : "ts";
    const script = fileURLToPath(new URL(`./sink_server.${ext}`, import.meta.url));
    const g = globalThis as { Deno?: { execPath(): string } };
    const args = [...(g.Deno ? ["run", "-A", script] : [script]), ...(cpu === undefined ? [] : ["--cpu", String(cpu)])];
    const child = spawn(g.Deno ? g.Deno.execPath() : process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    child.on("error", reject);
    child.stdout!.once("data", (line: Buffer) => {
      resolve({ port: Number(String(line).trim()), stop: () => child.kill() });
    });
  });
