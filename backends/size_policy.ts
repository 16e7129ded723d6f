/**
 * What `backend: "auto"` prefers for a chunk of a given size, per transport (and, optionally, per
 * runtime: Bun, Deno and Node pay differently per chunk, so their crossovers differ): a list of size
 * bands, each naming the backends to use in order of preference (the first one this process has
 * wins; copy always works). The built-in bands were measured on the development machine with
 * `npm run bench -- --full`; a calibration on the machine that runs zcio writes a policy file with
 * the same shape (`bench/out/policy.json`), which `zcConnect({ policy })` or `ZCIO_POLICY=path`
 * puts in force. A policy that does not have this shape is an INVALID_OPTION.
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { BACKEND_NAMES, type BackendName } from "../ffi/backend_names.ts";
import { ZcioError } from "../ffi/zcio_error.ts";

/** The runtimes a policy can have bands of their own for. */
export type PolicyRuntime = "bun" | "deno" | "node";
/** A socket transport, each with bands of its own. */
export type Transport = "tcp" | "udp";

/** Chunks of `from` bytes and more (up to the next band's `from`) use the first available of `use`. */
export interface PolicyBand {
  /** The smallest chunk, in bytes, the band holds. */
  readonly from: number;
  /** In order of preference; always ends with "copy". */
  readonly use: readonly BackendName[];
}

/** A band as JSON: `use` may also be a single backend name. */
export interface PolicyBandJson {
  /** The smallest chunk, in bytes, the band holds. */
  readonly from: number;
  /** The backend to use, or several in order of preference; "copy" is added at the end when missing. */
  readonly use: BackendName | readonly BackendName[];
}

/** Bands per transport. */
export interface TransportBandsJson {
  /** Bands for TCP, smallest `from` first. */
  readonly tcp?: readonly PolicyBandJson[];
  /** Bands for UDP, smallest `from` first. */
  readonly udp?: readonly PolicyBandJson[];
}

/** A policy as JSON. */
export interface SizePolicyJson extends TransportBandsJson {
  /** The format's version: 1. */
  readonly version: 1;
  /** Bands for one runtime only; a transport a runtime leaves out uses the bands above. */
  readonly runtimes?: { readonly [R in PolicyRuntime]?: TransportBandsJson };
  /** Free-form notes, e.g. what a calibration measured; ignored. */
  readonly measured?: unknown;
  /** A free-form note; ignored. */
  readonly note?: unknown;
}

/** The environment variable naming a policy file, used when `zcConnect` gets no `policy`. */
export const POLICY_ENV = "ZCIO_POLICY";

const RUNTIMES: readonly PolicyRuntime[] = ["bun", "deno", "node"];
const TOP_KEYS = ["version", "tcp", "udp", "runtimes", "measured", "note"];
/** Chunk sizes are at most 2^30 bytes; a band may start anywhere below 2^31. */
const MAX_FROM = 2 ** 31;

/**
 * Built in, from the calibration (`npm run bench`) on the development machine (2 vCPU, Linux 6.18),
 * UDP blackhole: under Bun and Deno both zero-copy backends beat copy from 16 KiB, and smaller
 * chunks are staged and copied whatever the policy says. MSG_ZEROCOPY comes first, then io_uring:
 * as a route of `auto`, MSG_ZEROCOPY was the best or close to it at every size, where io_uring's
 * lead as a backend of its own did not carry over to `auto`. TCP takes the same bands: over
 * loopback every zero-copy send is copied (no sink here shows TCP zero-copy), and `auto` learns
 * that from the first COPIED notification, and from then on from the peer's verdict, and sends by
 * copy.
 */
const BANDS: readonly PolicyBandJson[] = [{ from: 0, use: "copy" }, { from: 16 * 1024, use: ["msg_zerocopy", "io_uring"] }];
const BUILT_IN: SizePolicyJson = { version: 1, tcp: BANDS, udp: BANDS };

type Bands = Readonly<Record<Transport, readonly PolicyBand[]>>;

/**
 * A checked policy: what `backend: "auto"` prefers per chunk size, transport and runtime.
 *
 * @example
 * ```ts
 * import { SizePolicy } from "@zcio/zcio";
 *
 * const policy = SizePolicy.parse({
 *   version: 1,
 *   tcp: [{ from: 0, use: "copy" }, { from: 65536, use: ["io_uring", "msg_zerocopy"] }],
 *   runtimes: { bun: { tcp: [{ from: 0, use: "copy" }] } },
 * }, "an example");
 * policy.bands("tcp", "deno")[1].use; // ["io_uring", "msg_zerocopy", "copy"]
 * policy.bands("tcp", "bun").length;  // 1: Bun's own bands
 * ```
 */
export class SizePolicy {
  private constructor(
    private readonly generic: Bands,
    private readonly runtimes: Readonly<Partial<Record<PolicyRuntime, Partial<Bands>>>>,
    /** Where the policy came from: "built-in", a file path, or "the policy option". */
    readonly source: string,
  ) {}

  /** The bands for one transport (in `runtime`, if given), smallest sizes first. */
  bands(transport: Transport, runtime?: PolicyRuntime): readonly PolicyBand[] {
    return (runtime !== undefined ? this.runtimes[runtime]?.[transport] : undefined) ?? this.generic[transport];
  }

  /** The band that holds `size`. */
  bandFor(transport: Transport, size: number, runtime?: PolicyRuntime): PolicyBand {
    const bands = this.bands(transport, runtime);
    let b = 0;
    while (b + 1 < bands.length && size >= bands[b + 1].from) b++;
    return bands[b];
  }

  /** The policy as a file holds it. */
  toJSON(): SizePolicyJson {
    const runtimes = Object.keys(this.runtimes).length > 0 ? { runtimes: this.runtimes } : {};
    return { version: 1, tcp: this.generic.tcp, udp: this.generic.udp, ...runtimes };
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
        message: `policy (${source}): ${what}; a policy is { "version": 1, "tcp": [{ "from": 0, "use": "copy" }, ...], ` +
          `"udp": [...], "runtimes"?: { "bun"?: { "tcp"?, "udp"? }, ... } }, as bench/out/policy.json from \`npm run bench\``,
      });
    };
    const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isObject(value)) fail("must be a JSON object");
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!TOP_KEYS.includes(key)) fail(`unknown key "${key}" (known: ${TOP_KEYS.join(", ")})`);
    }
    if (o.version !== 1) fail(`version must be 1; got ${JSON.stringify(o.version)}`);
    const bandList = (bands: unknown, name: string): readonly PolicyBand[] => {
      if (!Array.isArray(bands) || bands.length === 0) fail(`${name} must be a non-empty array of bands`);
      const out: PolicyBand[] = [];
      (bands as unknown[]).forEach((band, i) => {
        const where = `${name}[${i}]`;
        if (!isObject(band)) fail(`${where} must be an object { from, use }`);
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
          fail(`${where}.use must be a backend name or a non-empty array of them (${BACKEND_NAMES.join(", ")})`);
        }
        const use: BackendName[] = [];
        for (const backend of list as unknown[]) {
          if (!(BACKEND_NAMES as readonly unknown[]).includes(backend)) {
            fail(`${where}.use names ${JSON.stringify(backend)}; the backends are ${BACKEND_NAMES.join(", ")}`);
          }
          if (use.includes(backend as BackendName)) fail(`${where}.use names ${backend} twice`);
          use.push(backend as BackendName);
        }
        // Copy is always there: it ends every list.
        if (!use.includes("copy")) use.push("copy");
        out.push(Object.freeze({ from: from as number, use: Object.freeze(use) }));
      });
      return Object.freeze(out);
    };
    const transports = (from: Record<string, unknown>, prefix: string): Partial<Record<Transport, readonly PolicyBand[]>> => {
      const out: Partial<Record<Transport, readonly PolicyBand[]>> = {};
      for (const t of ["tcp", "udp"] as const) if (from[t] !== undefined) out[t] = bandList(from[t], `${prefix}${t}`);
      return out;
    };
    const runtimes: Partial<Record<PolicyRuntime, Partial<Bands>>> = {};
    if (o.runtimes !== undefined) {
      if (!isObject(o.runtimes)) fail(`runtimes must be an object { bun?, deno?, node? }`);
      for (const [runtime, bands] of Object.entries(o.runtimes as Record<string, unknown>)) {
        if (!RUNTIMES.includes(runtime as PolicyRuntime)) fail(`runtimes has unknown key "${runtime}" (known: ${RUNTIMES.join(", ")})`);
        if (!isObject(bands)) fail(`runtimes.${runtime} must be an object { tcp?, udp? }`);
        for (const key of Object.keys(bands as object)) {
          if (key !== "tcp" && key !== "udp") fail(`runtimes.${runtime} has unknown key "${key}" (known: tcp, udp)`);
        }
        runtimes[runtime as PolicyRuntime] = Object.freeze(transports(bands as Record<string, unknown>, `runtimes.${runtime}.`));
      }
    }
    const generic = transports(o, "");
    if (generic.tcp === undefined && generic.udp === undefined && Object.keys(runtimes).length === 0) {
      fail(`names no bands ("tcp", "udp" or "runtimes")`);
    }
    // What the policy leaves out is built in (the built-in policy itself names both transports).
    const base = source === "built-in" ? undefined : SizePolicy.builtIn;
    const bands: Bands = Object.freeze({
      tcp: generic.tcp ?? base!.generic.tcp,
      udp: generic.udp ?? base!.generic.udp,
    });
    return new SizePolicy(bands, Object.freeze(runtimes), source);
  }

  /**
   * Reads and checks a policy file (JSON). Every connection of `auto` resolves its policy, so a
   * file is read again only when its size or modification time has changed since the last read.
   */
  static fromFile(path: string): SizePolicy {
    let stamp: string | undefined;
    try {
      const { size, mtimeMs } = statSync(path);
      stamp = `${size} ${mtimeMs}`;
    } catch {
      // readFileSync below says why.
    }
    const known = filesRead.get(path);
    if (known !== undefined && stamp !== undefined && known.stamp === stamp) return known.policy;
    const policy = readPolicyFile(path);
    if (stamp !== undefined) filesRead.set(path, { stamp, policy });
    return policy;
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

/** The policy files read so far, by path, with the size and modification time they had. */
const filesRead = new Map<string, { readonly stamp: string; readonly policy: SizePolicy }>();

const readPolicyFile = (path: string): SizePolicy => {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ZcioError({
      code: "INVALID_OPTION",
      message: `policy file ${path} could not be read (${
        (e as { code?: string }).code ?? String(e)
      }); give the path of a policy.json written by \`npm run bench\``,
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
};

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
