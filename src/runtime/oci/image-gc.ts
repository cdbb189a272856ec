/**
 * Who uses which image, and the kubelet's image garbage collection.
 *
 * - **Users**: every container instance that runs from an image holds a small file
 *   `users/<sha256 of the image name>/<container ID>.json` in the store (its pod, container,
 *   bundle and layers) from before its root file system is mounted until it is removed; the
 *   lookup that precedes a start marks the image used too ({@link touchImage}). A record whose
 *   bundle is gone (its podvisor process crashed before removing it) holds nothing.
 *   `podvisor images` shows the pods; `rmi` refuses an image in use; garbage collection never
 *   removes it or its layers, nor an image used in the last 2 minutes.
 * - **Garbage collection** (`--image-gc-high-threshold`, `--image-gc-low-threshold`, as the
 *   kubelet's flags, defaults 85 and 80, and its 2 minute minimum age): when the file system of
 *   the store is fuller than the high threshold, unused images not used for 2 minutes are
 *   removed, least recently used first, until it is below the low one, each with the blobs and
 *   unpacked layers no other image needs. It runs before each pull (the store is about to grow;
 *   the image pulled is marked used first) and when the runtime starts, not on a timer.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { collectGarbage, type ImageStore } from './store.js';
import type { LayerStore } from './unpack.js';

/** A container instance using an image. */
export interface ImageUser {
  /** Bare container ID. */
  id: string;
  namespace: string;
  pod: string;
  container: string;
  /** Its bundle: the record holds only while it exists. */
  bundle: string;
  /** Layer digests of its root file system. */
  layers: string[];
}

const usersDir = (store: ImageStore): string => path.join(store.root, 'users');
const nameHash = (name: string): string => createHash('sha256').update(name).digest('hex');

/** Records that a container uses image `name` (synchronous: before its rootfs is mounted). */
export function addImageUser(store: ImageStore, name: string, user: ImageUser): void {
  const dir = path.join(usersDir(store), nameHash(name));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Atomic: a crash never leaves a record that cannot be read (and so protects nothing).
  const file = path.join(dir, `${user.id}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ image: name, ...user }));
  fs.renameSync(`${file}.tmp`, file);
}

/** The container no longer uses any image. */
export async function removeImageUser(store: ImageStore, id: string): Promise<void> {
  for (const d of await fsp.readdir(usersDir(store)).catch(() => [] as string[])) {
    await fsp.rm(path.join(usersDir(store), d, `${id}.json`), { force: true });
  }
}

/** The live users of every image, by image name (records of vanished bundles are removed). */
export async function imageUsers(store: ImageStore): Promise<Map<string, ImageUser[]>> {
  const out = new Map<string, ImageUser[]>();
  for (const d of await fsp.readdir(usersDir(store)).catch(() => [] as string[])) {
    for (const f of await fsp.readdir(path.join(usersDir(store), d)).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const file = path.join(usersDir(store), d, f);
      let rec: ImageUser & { image: string };
      try {
        rec = JSON.parse(await fsp.readFile(file, 'utf8')) as ImageUser & { image: string };
      } catch {
        continue;
      }
      if (typeof rec.bundle !== 'string' || !fs.existsSync(rec.bundle)) {
        await fsp.rm(file, { force: true });
        continue;
      }
      out.set(rec.image, [...(out.get(rec.image) ?? []), rec]);
    }
  }
  return out;
}

/** Thresholds of {@link collectImages}, percent of the store's file system. */
export interface ImageGcPolicy {
  highPercent: number;
  lowPercent: number;
  /** An image used (pulled, looked up for a start, or run) more recently than this is never removed. */
  minAgeMs?: number;
}

/**
 * The kubelet's defaults (`--image-gc-high-threshold=85`, `--image-gc-low-threshold=80`,
 * `--minimum-image-ttl-duration=2m`).
 */
export const DEFAULT_IMAGE_GC: ImageGcPolicy = { highPercent: 85, lowPercent: 80, minAgeMs: 120_000 };

/**
 * Marks image `name` as just used (its users directory's time): a lookup for a start does this
 * before the container records itself, so a collection in between keeps the image.
 */
export function touchImage(store: ImageStore, name: string): void {
  const dir = path.join(usersDir(store), nameHash(name));
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const now = new Date();
    fs.utimesSync(dir, now, now);
  } catch {
    // best effort: the minimum age then counts from the pull
  }
}

/** Used percent of the file system holding `dir`. */
export async function diskUsedPercent(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  const total = s.blocks * s.bsize;
  if (total <= 0) return 0;
  return ((total - s.bavail * s.bsize) / total) * 100;
}

/** What a collection did. */
export interface ImageGcResult {
  /** Image names removed (unused, least recently used first). */
  removedImages: string[];
  removedBlobs: number;
  removedLayers: number;
  /** Bytes of blobs and (approximately) of layers freed. */
  freedBytes: number;
}

/**
 * Garbage collection (see the module comment). `usedPercent` measures the disk (injectable for
 * tests). Unreferenced blobs and layers are removed on every call; images only above the high
 * threshold.
 */
export async function collectImages(
  store: ImageStore, layers: LayerStore, policy: ImageGcPolicy = DEFAULT_IMAGE_GC,
  usedPercent: () => Promise<number> = () => diskUsedPercent(store.root),
): Promise<ImageGcResult> {
  const result: ImageGcResult = { removedImages: [], removedBlobs: 0, removedLayers: 0, freedBytes: 0 };
  if ((await usedPercent()) <= policy.highPercent) return result;
  const now = Date.now();
  const minAge = policy.minAgeMs ?? 0;
  const users = await imageUsers(store);
  // Least recently used first: the newest of its pull, its last lookup and its last use by a container.
  const candidates = (await store.images())
    .filter((i) => !users.has(i.name) && now - lastUsed(store, i.name, i.pulledAt) >= minAge)
    .sort((a, b) => lastUsed(store, a.name, a.pulledAt) - lastUsed(store, b.name, b.pulledAt));
  for (const img of candidates) {
    if ((await usedPercent()) <= policy.lowPercent) break;
    // Asked again right before: a container may have started from it, or a start looked it up, meanwhile.
    if ((await imageUsers(store)).has(img.name) || Date.now() - lastUsed(store, img.name, img.pulledAt) < minAge) continue;
    if (!(await store.removeImage(img.name))) continue;
    result.removedImages.push(img.name);
    const gc = await collectGarbage(store);
    result.removedBlobs += gc.removed;
    result.freedBytes += gc.bytes;
    const l = await removeUnusedLayers(store, layers);
    result.removedLayers += l.removed;
    result.freedBytes += l.bytes;
  }
  return result;
}

/** Epoch ms of an image's last use: its newest user record, else its pull. */
function lastUsed(store: ImageStore, name: string, pulledAt: string): number {
  let t = Date.parse(pulledAt) || 0;
  try {
    t = Math.max(t, fs.statSync(path.join(usersDir(store), nameHash(name))).mtimeMs);
  } catch {
    // never used
  }
  return t;
}

/** Removes unpacked layers no recorded image and no live user needs. */
export async function removeUnusedLayers(store: ImageStore, layers: LayerStore, users?: Map<string, ImageUser[]>): Promise<{ removed: number; bytes: number }> {
  const keep = await store.leasedDigests();
  for (const img of await store.images()) for (const l of img.layers) keep.add(l.digest);
  for (const list of (users ?? await imageUsers(store)).values()) for (const u of list) for (const l of u.layers) keep.add(l);
  const root = path.join(store.root, 'layers', 'sha256');
  let removed = 0;
  let bytes = 0;
  for (const hex of await fsp.readdir(root).catch(() => [] as string[])) {
    const digest = `sha256:${hex}`;
    if (keep.has(digest) || !/^[a-f0-9]{64}$/.test(hex)) continue;
    // A layer being unpacked right now is in `tmp/` until it is complete, never here.
    const dir = path.dirname(layers.dirOf(digest));
    bytes += await duBytes(dir);
    await fsp.rm(dir, { recursive: true, force: true });
    removed++;
  }
  return { removed, bytes };
}

/** Approximate bytes under `dir` (regular files; never through symlinks). */
async function duBytes(dir: string): Promise<number> {
  let n = 0;
  const stack = [dir];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) n += (await fsp.lstat(p).catch(() => undefined))?.size ?? 0;
    }
  }
  return n;
}
