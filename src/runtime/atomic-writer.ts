/**
 * Atomic projection of a volume's files into a directory, as the kubelet's `AtomicWriter`
 * (pkg/volume/util/atomic_writer.go) does for configMap, secret, downwardAPI and projected
 * volumes. A process reading the volume sees the old files or the new ones, never a mix inside
 * one file and never a half-written file:
 *
 * ```
 * <dir>/..2026_01_02_15_04_05.123456   the payload of one version (0755 directory)
 * <dir>/..data -> ..2026_01_02_15_04_05.123456
 * <dir>/<top> -> ..data/<top>           one symlink per top-level entry of the payload
 * ```
 *
 * A write: (1) validates and cleans the paths; (2) reads the current version through `..data`;
 * (3) finds the paths of that version the new payload drops; (4) stops there when content,
 * modes and entries are unchanged; (5) creates a new timestamped directory and (6) writes the
 * payload into it with its modes; (7) points `..data_tmp` at it and (8) renames it over
 * `..data` (the atomic swap); (9) creates the missing top-level symlinks; (10) removes the
 * top-level symlinks of dropped entries; (11) removes the previous timestamped directory.
 *
 * Unlike upstream, a change of mode alone is a change (upstream compares content only).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** One file of the payload: a relative path inside the volume, its bytes and permission bits. */
export interface AtomicFile {
  path: string;
  data: Uint8Array;
  mode: number;
}

/** Options of {@link writeAtomicVolume}. */
export interface AtomicWriteOptions {
  /**
   * The name of the next timestamped directory (must start with `..` and not exist yet), for
   * tests. Default: `..` + the UTC time as `2006_01_02_15_04_05` + `.` + random characters, as
   * Go's `os.MkdirTemp` makes it.
   */
  timestampDirName?: () => string;
}

/** A payload path the writer refuses (absolute, with `..`, too long, or clashing with another). */
export class InvalidPayloadPathError extends Error {
  override readonly name = 'InvalidPayloadPathError';
  /** @param path the offending path, as given. */
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The symlink readers go through; renamed over atomically. */
export const DATA_DIR_NAME = '..data';
/** The symlink made next to `..data` and renamed over it. */
export const NEW_DATA_DIR_NAME = '..data_tmp';
const MAX_FILE_NAME_LENGTH = 255;
const MAX_PATH_LENGTH = 4096;

/** `validatePath` of the AtomicWriter, with its messages. */
function validatePath(p: string): void {
  const fail = (m: string): never => {
    throw new InvalidPayloadPathError(p, m);
  };
  if (p === '') fail(`invalid path: must not be empty: ${JSON.stringify(p)}`);
  if (path.posix.isAbsolute(p)) fail(`invalid path: must be relative path: ${p}`);
  if (p.length > MAX_PATH_LENGTH) fail(`invalid path: must be less than or equal to ${MAX_PATH_LENGTH} characters`);
  const items = p.split('/');
  for (const item of items) {
    if (item === '..') fail(`invalid path: must not contain '..': ${p}`);
    if (item.length > MAX_FILE_NAME_LENGTH) fail(`invalid path: filenames must be less than or equal to ${MAX_FILE_NAME_LENGTH} characters`);
  }
  const first = items[0] ?? '';
  if (first.startsWith('..') && first.length > 2) fail(`invalid path: must not start with '..': ${p}`);
}

/** The payload keyed by clean path; a file that is also another file's directory is refused. */
function cleanPayload(files: readonly AtomicFile[]): Map<string, AtomicFile> {
  const out = new Map<string, AtomicFile>();
  for (const f of files) {
    validatePath(f.path);
    const p = path.posix.normalize(f.path).replace(/\/+$/, '');
    if (p === '.' || p === '') throw new InvalidPayloadPathError(f.path, `invalid path: must name a file: ${f.path}`);
    out.set(p, { ...f, path: p });
  }
  for (const p of out.keys()) {
    for (let d = path.posix.dirname(p); d !== '.'; d = path.posix.dirname(d)) {
      if (out.has(d)) throw new InvalidPayloadPathError(p, `invalid path: ${d} is both a file and a directory`);
    }
  }
  return out;
}

const isNotFound = (e: unknown): boolean => (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';

async function readLinkOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await fsp.readlink(p);
  } catch (e) {
    if (isNotFound(e) || (e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw e;
  }
}

/** Every path (files and directories) under `root`, relative; empty when `root` is missing. */
async function walk(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  let entries: string[];
  try {
    entries = await fsp.readdir(root, { recursive: true });
  } catch (e) {
    if (isNotFound(e)) return out;
    throw e;
  }
  for (const e of entries) out.add(e.split(path.sep).join('/'));
  return out;
}

/** `pathsToRemove`: the old paths that are neither a new file nor one of its parent directories. */
function pathsToRemove(old: ReadonlySet<string>, payload: ReadonlyMap<string, AtomicFile>): string[] {
  const keep = new Set<string>();
  for (const p of payload.keys()) for (let d = p; d !== '.'; d = path.posix.dirname(d)) keep.add(d);
  return [...old].filter((p) => !keep.has(p));
}

const topLevel = (p: string): string => p.split('/')[0] ?? p;

/** True when the current version holds exactly this content and these modes, and every top-level link exists. */
async function unchanged(dir: string, oldTsDir: string, payload: ReadonlyMap<string, AtomicFile>): Promise<boolean> {
  for (const f of payload.values()) {
    const p = path.join(oldTsDir, f.path);
    let st;
    try {
      st = await fsp.lstat(p);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    if (!st.isFile() || (st.mode & 0o7777) !== (f.mode & 0o7777) || st.size !== f.data.byteLength) return false;
    if (!Buffer.from(f.data).equals(await fsp.readFile(p))) return false;
  }
  for (const top of new Set([...payload.keys()].map(topLevel))) if (!(await exists(path.join(dir, top)))) return false;
  return true;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Creates the new timestamped directory (0755 whatever the umask) and returns its name. */
async function newTimestampDir(dir: string, opts: AtomicWriteOptions): Promise<string> {
  let name: string;
  if (opts.timestampDirName) {
    name = opts.timestampDirName();
    if (!name.startsWith('..') || name.includes('/') || name === DATA_DIR_NAME || name === NEW_DATA_DIR_NAME) {
      throw new InvalidPayloadPathError(name, `invalid timestamped directory name: ${name}`);
    }
    await fsp.mkdir(path.join(dir, name));
  } else {
    const t = new Date();
    const stamp = `${t.getUTCFullYear()}_${pad(t.getUTCMonth() + 1)}_${pad(t.getUTCDate())}_${pad(t.getUTCHours())}_${pad(t.getUTCMinutes())}_${pad(t.getUTCSeconds())}`;
    name = path.basename(await fsp.mkdtemp(path.join(dir, `..${stamp}.`)));
  }
  await fsp.chmod(path.join(dir, name), 0o755);
  return name;
}

/**
 * Makes `dir` hold exactly `files` (see the module comment), creating `dir` if needed. Returns
 * whether anything changed: `false` when the current version already has this content, these
 * modes and no other entries. Throws {@link InvalidPayloadPathError} for a bad path (before
 * touching anything) and the file system's error on I/O failure (a new version that could not
 * be completed is removed; the current one stays in place).
 */
export async function writeAtomicVolume(dir: string, files: readonly AtomicFile[], opts: AtomicWriteOptions = {}): Promise<{ changed: boolean }> {
  const payload = cleanPayload(files);
  await fsp.mkdir(dir, { recursive: true });
  const dataDir = path.join(dir, DATA_DIR_NAME);

  // (2)–(4) The current version, what the new one drops, and whether anything changes.
  const oldTsName = await readLinkOrUndefined(dataDir);
  const oldTsDir = oldTsName === undefined ? undefined : path.resolve(dir, oldTsName);
  const old = oldTsDir === undefined ? new Set<string>() : await walk(oldTsDir);
  const stale = pathsToRemove(old, payload);
  if (oldTsDir !== undefined && stale.length === 0 && (await exists(oldTsDir)) && (await unchanged(dir, oldTsDir, payload))) {
    return { changed: false };
  }

  // (5)–(6) The new version, complete before anyone can see it.
  const tsName = await newTimestampDir(dir, opts);
  const tsDir = path.join(dir, tsName);
  try {
    for (const f of payload.values()) {
      const p = path.join(tsDir, f.path);
      await fsp.mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
      await fsp.writeFile(p, f.data, { mode: f.mode & 0o7777 });
      await fsp.chmod(p, f.mode & 0o7777); // the umask must not narrow the mode
    }
    // (7)–(8) The atomic swap.
    const newDataDir = path.join(dir, NEW_DATA_DIR_NAME);
    await fsp.rm(newDataDir, { force: true });
    await fsp.symlink(tsName, newDataDir);
    await fsp.rename(newDataDir, dataDir);
  } catch (e) {
    await fsp.rm(tsDir, { recursive: true, force: true });
    throw e;
  }

  // (9) Links for new top-level entries; existing ones already point through ..data.
  for (const top of new Set([...payload.keys()].map(topLevel))) {
    const link = path.join(dir, top);
    if (!(await exists(link))) await fsp.symlink(path.posix.join(DATA_DIR_NAME, top), link);
  }
  // (10)–(11) Dropped top-level entries, then the previous version.
  for (const p of stale) if (!p.includes('/')) await fsp.rm(path.join(dir, p), { force: true });
  if (oldTsDir !== undefined && oldTsName !== tsName) await fsp.rm(oldTsDir, { recursive: true, force: true });
  return { changed: true };
}
