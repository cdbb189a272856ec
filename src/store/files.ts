/**
 * The file primitives of the store: crash-safe writes, bounded file names for user-chosen
 * names, and the clean-up of temporary files a crash left behind.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Characters of a name kept readable in its file name. */
const READABLE_PREFIX = 40;
/** Hex digits of the name's SHA-256 in its file name (128 bits: no two names share a file). */
const HASH_DIGITS = 32;
/** Characters of the target's file name kept in a temporary file's name. */
export const TMP_BASE = 100;
/** A temporary file of {@link writeFileAtomic}: `.<base>.<pid>.tmp`. */
const TMP_RE = /^\..*\.(\d+)\.tmp$/;

/**
 * The file-name segment of a namespace or pod name: at most 40 characters of the name (every
 * character other than `a-z`, `0-9`, `.` and `-` as `-`, a leading `.` as `-`, so that it is
 * never a hidden file), `_`, and 32 hex digits of the SHA-256 of the whole name. Distinct names
 * give distinct segments (the hash; `_` never occurs in a Kubernetes name), and the length is
 * at most 73 characters whatever the name's.
 */
export function nameSegment(name: string): string {
  const readable = name.slice(0, READABLE_PREFIX).replace(/[^a-z0-9.-]/g, '-').replace(/^\./, '-');
  return `${readable}_${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, HASH_DIGITS)}`;
}

/**
 * fsyncs a file or a directory by its path; false when it cannot be opened or synced (gone, or a
 * file system that refuses fsync on directories).
 */
export function fsyncPath(p: string): boolean {
  try {
    const fd = fs.openSync(p, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch {
    return false;
  }
}

/** fsyncs a directory (after a rename or removal in it); a no-op where the file system refuses. */
export function fsyncDir(dir: string): void {
  // Some filesystems do not support fsync on directories; the rename is still atomic.
  fsyncPath(dir);
}

/**
 * Writes `data` to `file` atomically and durably: a crash leaves the old or the new content.
 * Throws the I/O error when the write fails, and then leaves `file` as it was and no
 * temporary file behind (best effort: a crash can leave one, which {@link FileStore.open}
 * removes). The temporary file's name is bounded whatever the length of `file`'s name.
 */
export function writeFileAtomic(file: string, data: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file).slice(0, TMP_BASE)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The write's own error is the one to report; open removes what is left.
    }
    throw err;
  }
  fsyncDir(dir);
}

/** Whether a process of that PID runs (other than this one). */
function otherProcessAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The entries of a directory, or none when it does not exist. */
export function listEntries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}


/**
 * Removes the temporary files a crash left in `dir` during a write (a live writer's are kept:
 * single-writer is the rule, but a second process started by mistake must not break the
 * first's writes).
 */
export function removeStaleTemporaries(dir: string): void {
  for (const e of listEntries(dir)) {
    const m = TMP_RE.exec(e.name);
    if (!m || !e.isFile() || otherProcessAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, e.name), { force: true });
  }
}
