/**
 * A container instance's root file system: an overlay mount of its image's unpacked layers
 * (read-only, shared) under a fresh writable layer of the instance (`upper`), so a restarted
 * container starts from the image again, as on Kubernetes, and no instance sees another's
 * writes. Needs root (or a user namespace) and the kernel's overlayfs.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { run } from '../proc-util.js';

/** An instance's mounted root file system. */
export interface Rootfs {
  /** The merged tree: the container's `/`. */
  merged: string;
  /** The instance's writable layer. */
  upper: string;
}

/**
 * Mounts `layers` (lowest first: the manifest's order) under a new writable layer in `dir`
 * (`upper`, `work`, `merged`). The lower directories are given relative to their common parent,
 * which keeps the mount options under the kernel's one-page limit for images of many layers.
 */
export async function mountRootfs(layers: readonly string[], dir: string, mount = 'mount'): Promise<Rootfs> {
  if (layers.length === 0) throw new Error('an image without layers has no root file system');
  const upper = path.join(dir, 'upper');
  const work = path.join(dir, 'work');
  const merged = path.join(dir, 'merged');
  // Private, like the layers: the instance's writes may hold setuid files and device nodes.
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dir, 0o700);
  for (const d of [upper, work, merged]) await fsp.mkdir(d, { recursive: true, mode: 0o755 });
  // Relative to the parent of the layers' own directories (never '' for a single layer).
  const base = commonParent(layers.map((l) => path.dirname(path.resolve(l))));
  const lower = [...layers].reverse().map((l) => path.relative(base, l)).join(':');
  const r = await run([mount, '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged], { cwd: base });
  if (r.code !== 0) throw new Error(`cannot mount the container's root file system (overlayfs): ${r.stderr.trim() || `exit ${r.code}`}`);
  return { merged, upper };
}

/** Unmounts an instance's root file system and removes its writable layer. */
export async function removeRootfs(dir: string, umount = 'umount'): Promise<void> {
  const merged = path.join(dir, 'merged');
  if (await isMountPoint(merged)) {
    const r = await run([umount, merged]);
    if (r.code !== 0) throw new Error(`cannot unmount ${merged}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  await fsp.rm(dir, { recursive: true, force: true });
}

/** True when `dir` is a mount point of this mount namespace. */
export async function isMountPoint(dir: string): Promise<boolean> {
  const mounts = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  // mountinfo names the real path: a data dir under a symlink must be resolved first.
  const target = await fsp.realpath(dir).catch(() => path.resolve(dir));
  // Field 5 is the mount point, with spaces and the like octal-escaped.
  return mounts.split('\n').some((l) => l.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === target);
}

function commonParent(dirs: readonly string[]): string {
  const parts = dirs.map((d) => path.resolve(d).split(path.sep));
  const first = parts[0] ?? [];
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(path.sep) || path.sep;
}
