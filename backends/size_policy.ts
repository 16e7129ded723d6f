/**
 * What `backend: "auto"` prefers for a chunk of a given size, per transport: a list of size bands,
 * each naming the backends to use in order of preference (the first one this process has wins;
 * copy always works). The built-in bands were measured on the development machine with
 * `npm run bench -- --full`; a calibration on the machine that runs zcio writes a policy file with
 * the same shape (`bench/out/policy.json`), which `zcConnect({ policy })` or `ZCIO_POLICY=path`
 * puts in force. A policy that does not have this shape is an INVALID_OPTION.
 *
 * @example
 * ```ts
 * const policy = SizePolicy.parse({
 *   version: 1,
 *   tcp: [{ from: 0, use: "copy" }, { from: 65536, use: ["io_uring", "msg_zerocopy"] }],
 * }, "an example");
 * policy.bands("tcp")[1].use; // ["io_uring", "msg_zerocopy", "copy"]
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ZcioError } from "../ffi/zcio_error.ts";

/** A backend a policy can name. */
export type PolicyBackend = "copy" | "msg_zerocopy" | "io_uring";

/** Chunks of `from` bytes and more (up to the next band's `from`) use the first available of `use`. */
export interface PolicyBand {
  readonly from: number;
  /** In order of preference; always ends with "copy". */
  readonly use: readonly PolicyBackend[];
}

/** A policy as JSON: `use` may also be a single backend name. */
export interface SizePolicyJson {
  readonly version: 1;
  readonly tcp?: readonly { readonly from: number; readonly use: PolicyBackend | readonly PolicyBackend[] }[];
  readonly udp?: readonly { readonly from: number; readonly use: PolicyBackend | readonly PolicyBackend[] }[];
  /** Free-form notes, e.g. what a calibration measured; ignored. */
  readonly measured?: unknown;
  readonly note?: unknown;
}

/** The environment variable naming a policy file, used when `zcConnect` gets no `policy`. */
export const POLICY_ENV = "ZCIO_POLICY";

const BACKENDS: readonly PolicyBackend[] = ["copy", "msg_zerocopy", "io_uring"];
const TOP_KEYS = ["version", "tcp", "udp", "measured", "note"];
/** Chunk sizes are at most 2^30 bytes; a band may start anywhere below 2^31. */
const MAX_FROM = 2 ** 31;

/**
 * Built in, from `npm run bench -- --full` on the development machine (2 vCPU, Linux 6.18; see
 * README "Benchmark"):
 * - TCP: zero-copy from 64 KiB, io_uring first. Over loopback every zero-copy send is copied, so
 *   `auto` learns that from the first notification and sends by copy; on a real device, large
 *   chunks are where pinning pays for the notification.
 * - UDP: on a device that does not copy (the blackhole sink), io_uring SEND_ZC beats a copy from
 *   16 KiB.
 */
const BUILT_IN: SizePolicyJson = {
  version: 1,
  tcp: [{ from: 0, use: "copy" }, { from: 65536, use: ["io_uring", "msg_zerocopy"] }],
  udp: [{ from: 0, use: "copy" }, { from: 16384, use: ["io_uring", "msg_zerocopy"] }],
};

export class SizePolicy {
  private constructor(
    readonly tcp: readonly PolicyBand[],
    readonly udp: readonly PolicyBand[],
    /** Where the policy came from: "built-in", a file path, or "the policy option". */
    readonly source: string,
  ) {}

  /** The bands for one transport, smallest sizes first. */
  bands(transport: "tcp" | "udp"): readonly PolicyBand[] {
    return transport === "tcp" ? this.tcp : this.udp;
  }

  /** The backend list of the band that holds `size`. */
  bandFor(transport: "tcp" | "udp", size: number): PolicyBand {
    const bands = this.bands(transport);
    let b = 0;
    while (b + 1 < bands.length && size >= bands[b + 1].from) b++;
    return bands[b];
  }

  /** The policy as a file holds it. */
  toJSON(): SizePolicyJson {
    return { version: 1, tcp: this.tcp, udp: this.udp };
  }

  /** The built-in policy. */
  static readonly builtIn: SizePolicy = SizePolicy.parse(BUILT_IN, "built-in");

  /**
   * Checks a parsed policy object. `source` names it in error messages. A transport the policy
   * leaves out keeps the built-in bands.
   */
  static parse(value: unknown, source: string): SizePolicy {
    const fail = (what: string): never => {
      throw new ZcioError({
        code: "INVALID_OPTION",
        message: `policy (${source}): ${what}; a policy is { "version": 1, "tcp": [{ "from": 0, "use": "copy" }, ...], "udp": [...] }, as bench/out/policy.json from \`npm run bench\``,
      });
    };
    if (value === null || typeof value !== "object" || Array.isArray(value)) fail("must be a JSON object");
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!TOP_KEYS.includes(key)) fail(`unknown key "${key}" (known: ${TOP_KEYS.join(", ")})`);
    }
    if (o.version !== 1) fail(`version must be 1; got ${JSON.stringify(o.version)}`);
    if (o.tcp === undefined && o.udp === undefined) fail(`names neither "tcp" nor "udp" bands`);
    const transport = (name: "tcp" | "udp"): readonly PolicyBand[] => {
      const bands = o[name];
      if (bands === undefined) return SizePolicy.builtIn.bands(name);
      if (!Array.isArray(bands) || bands.length === 0) fail(`${name} must be a non-empty array of bands`);
      const out: PolicyBand[] = [];
      (bands as unknown[]).forEach((band, i) => {
        const where = `${name}[${i}]`;
        if (band === null || typeof band !== "object" || Array.isArray(band)) fail(`${where} must be an object { from, use }`);
        const b = band as Record<string, unknown>;
        for (const key of Object.keys(b)) {
          if (key !== "from" && key !== "use") fail(`${where} has unknown key "${key}" (known: from, use)`);
        }
        const from = b.from;
        if (typeof from !== "number" || !Number.isInteger(from) || from < 0 || from >= MAX_FROM) {
          fail(`${where}.from must be a whole number of bytes from 0 to 2^31 - 1; got ${JSON.stringify(from)}`);
        }
        if (i === 0 && from !== 0) fail(`${where}.from must be 0: the first band starts at the smallest chunk`);
        if (i > 0 && (from as number) <= out[i - 1].from) {
          fail(`${where}.from (${from}) must be larger than ${name}[${i - 1}].from (${out[i - 1].from})`);
        }
        const list = typeof b.use === "string" ? [b.use] : b.use;
        if (!Array.isArray(list) || list.length === 0) {
          fail(`${where}.use must be a backend name or a non-empty array of them (${BACKENDS.join(", ")})`);
        }
        const use: PolicyBackend[] = [];
        for (const backend of list as unknown[]) {
          if (!BACKENDS.includes(backend as PolicyBackend)) {
            fail(`${where}.use names ${JSON.stringify(backend)}; the backends are ${BACKENDS.join(", ")}`);
          }
          if (use.includes(backend as PolicyBackend)) fail(`${where}.use names ${backend} twice`);
          use.push(backend as PolicyBackend);
        }
        // Copy is always there: it ends every list.
        if (!use.includes("copy")) use.push("copy");
        out.push(Object.freeze({ from: from as number, use: Object.freeze(use) }));
      });
      return Object.freeze(out);
    };
    return new SizePolicy(transport("tcp"), transport("udp"), source);
  }

  /** Reads and checks a policy file (JSON). */
  static fromFile(path: string): SizePolicy {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new ZcioError({
        code: "INVALID_OPTION",
        message: `policy file ${path} could not be read (${(e as { code?: string }).code ?? String(e)}); give the path of a policy.json written by \`npm run bench\``,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ZcioError({
        code: "INVALID_OPTION",
        message: `policy file ${path} is not JSON (${(e as Error).message}); give the path of a policy.json written by \`npm run bench\``,
      });
    }
    return SizePolicy.parse(value, path);
  }

  /**
   * The policy a connection uses: the `policy` option (a policy object, a parsed SizePolicy, or a
   * file path), else the file named by the environment variable {@link POLICY_ENV}, else the
   * built-in one.
   */
  static resolve(option: unknown, env: (name: string) => string | undefined = readEnv): SizePolicy {
    if (option instanceof SizePolicy) return option;
    if (typeof option === "string") {
      if (option.length === 0) {
        throw new ZcioError({ code: "INVALID_OPTION", message: "policy must be a policy object or a file path; got an empty string" });
      }
      return SizePolicy.fromFile(option);
    }
    if (option !== undefined) return SizePolicy.parse(option, "the policy option");
    const path = env(POLICY_ENV);
    if (path === undefined || path === "") return SizePolicy.builtIn;
    try {
      return SizePolicy.fromFile(path);
    } catch (e) {
      const error = e as ZcioError;
      throw new ZcioError({ code: "INVALID_OPTION", message: `${POLICY_ENV}=${path}: ${error.message}` });
    }
  }
}

/** An environment variable in any runtime (undefined where Deno is not allowed to read it). */
const readEnv = (name: string): string | undefined => {
  const g = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  try {
    return g.Deno !== undefined ? g.Deno.env.get(name) : g.process?.env[name];
  } catch {
    return undefined;
  }
};
