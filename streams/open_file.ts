/**
 * Turns what `sendFile` was given into an fd zcio can hand sendfile(2): a path (opened read-only,
 * and closed again when the send settles), an fd or a Node `FileHandle` (used as is, never
 * closed), a `Deno.FsFile` (its file opened again read-only through /proc, since Deno does not
 * expose the fd), or a `Bun.file(path)`. Checks that it is a regular file and reports its size.
 * The file's own position is neither read nor moved: sends name their offsets.
 *
 * @module
 */
import { O_CLOEXEC, O_RDONLY, S_IFDIR, S_IFMT, S_IFREG } from "../ffi/constants.ts";
import { decodeStat, type FileStat, STAT_SIZE } from "../ffi/structs.ts";
import type { Sys } from "../ffi/sys.ts";
import { errnoError, ZcioError } from "../ffi/zcio_error.ts";

/**
 * A file for `sendFile`: a path (string or `file:` URL), an fd, a Node `FileHandle` (`{ fd }`), a
 * `Deno.FsFile` (`{ statSync() }`, typed by the part zcio uses: the Node build has no Deno types),
 * or a `Bun.file(path)` (not a slice of one: give `offset` and `length` instead).
 */
export type FileSource =
  | string
  | URL
  | number
  | { readonly fd: number }
  | { statSync(): { readonly dev: number; readonly ino: number | null } }
  | Blob;

type DenoFsFile = Extract<FileSource, { statSync(): unknown }>;

/** A regular file, open for reading. */
export interface OpenedFile {
  readonly fd: number;
  readonly size: number;
  /** Lets the fd go: closes it when zcio opened it. */
  readonly release: () => void;
}

/** Opens `file` for sending; a ZcioError says why it cannot be sent. */
export const openFile = (sys: Sys, file: FileSource): OpenedFile | ZcioError => {
  const source = resolveSource(sys, file);
  if (source instanceof ZcioError) return source;
  const { fd, owned, name } = source;
  const release = owned ? () => void sys.close(fd) : () => {};
  const stat = fstat(sys, fd);
  const error = typeof stat === "number" ? errnoError(`fstat of ${name}`, stat) : notRegular(stat, name);
  if (error !== undefined) {
    release();
    return error;
  }
  return { fd, size: (stat as FileStat).size, release };
};

/** An fd for `file`, whether zcio opened it (and closes it), and a name for messages. */
const resolveSource = (sys: Sys, file: FileSource): { fd: number; owned: boolean; name: string } | ZcioError => {
  if (typeof file === "string") return openPath(sys, file);
  if (file instanceof URL) {
    if (file.protocol !== "file:") return invalid(`a URL must be a file: URL, not ${file.protocol}`);
    return openPath(sys, decodeURIComponent(file.pathname));
  }
  if (typeof file === "number") {
    if (!Number.isInteger(file) || file < 0) return invalid(`an fd is a non-negative integer, not ${file}`);
    return { fd: file, owned: false, name: `fd ${file}` };
  }
  if (typeof file === "object" && file !== null) {
    const fd = (file as { fd?: unknown }).fd;
    if (typeof fd === "number") {
      if (fd < 0) return new ZcioError({ code: "CLOSED", message: "the FileHandle is closed" });
      return { fd, owned: false, name: `fd ${fd}` };
    }
    const deno = (globalThis as { Deno?: { FsFile: new () => DenoFsFile } }).Deno;
    if (deno !== undefined && file instanceof deno.FsFile) return reopenDenoFile(sys, file);
    const name = (file as { name?: unknown }).name;
    if (file instanceof Blob && typeof name === "string" && typeof File === "function" && !(file instanceof File)) {
      const opened = openPath(sys, name);
      if (opened instanceof ZcioError || fstatSize(sys, opened.fd) === file.size) return opened;
      sys.close(opened.fd);
      return invalid("a slice of a Bun.file cannot be sent; give the whole file with the offset and length options");
    }
  }
  return invalid("sendFile takes a path, a file: URL, an fd, a Node FileHandle, a Deno.FsFile or a Bun.file(path)");
};

const openPath = (sys: Sys, path: string): { fd: number; owned: boolean; name: string } | ZcioError => {
  // The kernel would stop at the first NUL and open another file.
  if (path.includes("\0")) return invalid(`a path cannot hold a NUL character: ${JSON.stringify(path)}`);
  const fd = sys.open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError(`open ${JSON.stringify(path)}`, fd);
  return { fd, owned: true, name: JSON.stringify(path) };
};

/**
 * Deno hides a file's fd: find an fd of this process on the same inode and open it again,
 * read-only, through /proc (which works even if the file was unlinked).
 */
const reopenDenoFile = (sys: Sys, file: DenoFsFile): { fd: number; owned: boolean; name: string } | ZcioError => {
  const { dev, ino } = file.statSync();
  const deno = (globalThis as unknown as { Deno: { readDirSync(path: string): Iterable<{ name: string }> } }).Deno;
  for (const entry of deno.readDirSync("/proc/self/fd")) {
    const stat = fstat(sys, Number(entry.name));
    if (typeof stat !== "number" && stat.dev === dev && stat.ino === ino) {
      return openPath(sys, `/proc/self/fd/${entry.name}`);
    }
  }
  return new ZcioError({ code: "CLOSED", message: "the Deno.FsFile is closed" });
};

/** The file's stat, or -errno. */
const fstat = (sys: Sys, fd: number): FileStat | number => {
  const bytes = new Uint8Array(STAT_SIZE);
  const r = sys.fstat(fd, bytes);
  return r < 0 ? r : decodeStat(new DataView(bytes.buffer));
};

const fstatSize = (sys: Sys, fd: number): number => {
  const stat = fstat(sys, fd);
  return typeof stat === "number" ? -1 : stat.size;
};

/** Why `stat` is not a file sendfile(2) can read from, or undefined. */
const notRegular = (stat: FileStat, name: string): ZcioError | undefined => {
  const type = stat.mode & S_IFMT;
  if (type === S_IFREG) return undefined;
  if (type === S_IFDIR) {
    return new ZcioError({ code: "EISDIR", errno: 21, message: `${name} is a directory; sendFile sends a regular file` });
  }
  return new ZcioError({
    code: "NOT_A_FILE",
    message: `${name} is not a regular file (a socket, pipe or device); write its bytes instead`,
  });
};

const invalid = (message: string): ZcioError => new ZcioError({ code: "INVALID_OPTION", message });
