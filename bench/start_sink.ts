/**
 * Starts `sink_server.ts` in a child process of the same runtime and returns its port.
 *
 * With two CPUs or more the sink gets one to itself and this process keeps to the others until
 * `stop()`: over loopback a sender also does the receiver's TCP work, and a sender that shares a
 * core with the sink spends about twice the CPU per byte, so an unpinned run measures where the
 * scheduler happened to put the two as much as the sender (`cpu_affinity.ts`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadSys } from "../ffi/load_sys.ts";
import { allowedCpus, pinProcess } from "./cpu_affinity.ts";

export interface Sink {
  readonly port: number;
  /** Where the sink and the senders run: "sink on CPU 1, senders on 0", or "unpinned". */
  readonly placement: string;
  /** Ends the sink and lets this process use every CPU it could before. */
  stop(): void;
}

export const startSink = async (): Promise<Sink> => {
  const sys = await loadSys();
  const cpus = allowedCpus(sys);
  const senders = cpus.slice(0, -1);
  const sinkCpu = cpus.length >= 2 && pinProcess(sys, senders) ? cpus.at(-1) : undefined;
  const placement = sinkCpu === undefined ? "unpinned" : `sink on CPU ${sinkCpu}, senders on ${senders.join(",")}`;
  return new Promise((resolve, reject) => {
    // Node runs the compiled bench (dist/bench/*.js); Bun and Deno run the sources.
    const ext = import.meta.url.endsWith(".js") ? "js" : "ts";
    const script = fileURLToPath(new URL(`./sink_server.${ext}`, import.meta.url));
    const g = globalThis as { Deno?: { execPath(): string } };
    const args = [...(g.Deno ? ["run", "-A", script] : [script]), ...(sinkCpu === undefined ? [] : ["--cpu", String(sinkCpu)])];
    const child = spawn(g.Deno ? g.Deno.execPath() : process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    child.on("error", reject);
    child.stdout!.once("data", (line: Buffer) => {
      resolve({
        port: Number(String(line).trim()),
        placement,
        stop: () => {
          child.kill();
          if (sinkCpu !== undefined) pinProcess(sys, cpus);
        },
      });
    });
  });
};
