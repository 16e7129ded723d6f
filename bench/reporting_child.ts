/**
 * Runs a benchmark child process that reports as the calibration's workers do: lines of its stderr
 * that start with a prefix are progress, the last line of its stdout is its report (JSON).
 *
 * @example
 * ```ts
 * const r = await runReportingChild<Cell[]>("bun", ["bench/main.ts", "--half"], "[half] ", console.error);
 * if (typeof r === "string") console.log(`skipped: ${r}`);
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";

/**
 * `onProgress` gets each progress line whole, prefix included. Resolves with the child's report,
 * or with a sentence saying why there is none (it could not start, failed, or printed no JSON):
 * its exit code and its last lines of other stderr.
 */
export const runReportingChild = <T>(
  command: string,
  args: readonly string[],
  progressPrefix: string,
  onProgress: (line: string) => void,
  env: Record<string, string> = {},
): Promise<T | string> =>
  new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "", err = "", partial = "";
    child.stdout!.on("data", (b: Uint8Array) => (out += String(b)));
    child.stderr!.on("data", (b: Uint8Array) => {
      const lines = (partial + String(b)).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith(progressPrefix)) onProgress(line);
        else err += `${line}\n`;
      }
    });
    child.on("error", (e) => resolve(`could not start ${command}: ${e.message}`));
    child.on("close", (code) => {
      err += partial;
      if (code === 0) {
        try {
          return resolve(JSON.parse(out.trim().split("\n").pop()!) as T);
        } catch {
          // fall through to the reason
        }
      }
      const why = err.split("\n").filter((l) => l.trim()).slice(-3).join(" / ");
      resolve(`it failed (exit ${code}): ${why || "no output"}`);
    });
  });
