/**
 * The image store, shared by every pod of a data dir: a content-addressed blob store
 * (`blobs/sha256/<hex>`, each blob verified against its digest and size before it lands there,
 * written to `ingest/` and renamed into place, so a crash never leaves a partial blob under a
 * digest) and one record per pulled reference (`refs/<sha256 of the name>.json`, written
 * atomically). Concurrent fetches of one blob in this process are done once.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PullError } from './errors.js';

/** A blob as a manifest names it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A pulled image reference. */
export interface ImageRecord {
  /** The normalised reference as pulled (`docker.io/library/busybox:latest`). */
  name: string;
  /** `<repository>@sha256:…` of what the reference resolved to (an index or a manifest): the kubelet's `imageID`. */
  repoDigest: string;
  /** Digest of the platform's image manifest. */
  manifest: string;
  /** The platform the manifest was chosen for (`linux/amd64`). */
  platform: string;
  config: Descriptor;
  layers: Descriptor[];
  /** Config and layers as stored (compressed), bytes. */
  size: number;
  /** RFC 3339. */
  pulledAt: string;
}

/** Progress of one blob's download. */
export interface BlobProgress {
  digest: string;
  done: number;
  total: number;
}

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

/** The store of a data dir. Create with {@link ImageStore.open}. */
export class ImageStore {
  private readonly inflight = new Map<string, Promise<string>>();

  private constructor(readonly root: string) {}

  /**
   * Opens (creating) the store at `root`. Partial downloads older than a day are removed (a
   * younger one may be another process's pull in progress).
   */
  static async open(root: string): Promise<ImageStore> {
    const s = new ImageStore(path.resolve(root));
    await fsp.mkdir(path.join(s.root, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
    const ingest = path.join(s.root, 'ingest');
    await fsp.mkdir(ingest, { recursive: true, mode: 0o700 });
    const dayAgo = Date.now() - 86_400_000;
    for (const f of await fsp.readdir(ingest).catch(() => [] as string[])) {
      const st = await fsp.stat(path.join(ingest, f)).catch(() => undefined);
      if (st && st.mtimeMs < dayAgo) await fsp.rm(path.join(ingest, f), { force: true });
    }
    await fsp.mkdir(path.join(s.root, 'refs'), { recursive: true, mode: 0o755 });
    return s;
  }

  /** Where a blob lives (whether or not it is there). */
  blobPath(digest: string): string {
    const m = DIGEST_RE.exec(digest);
    if (!m?.[1]) throw new PullError('Unsupported', `unsupported digest ${JSON.stringify(digest)} (only sha256 is supported)`);
    return path.join(this.root, 'blobs', 'sha256', m[1]);
  }

  /** True when the blob is stored. */
  has(digest: string): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  /** A stored blob's bytes. */
  read(digest: string): Promise<Buffer> {
    return fsp.readFile(this.blobPath(digest));
  }

  /** Stores bytes already in memory (a manifest) under their digest, after checking it. */
  async putBytes(digest: string, bytes: Buffer): Promise<void> {
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw new PullError('DigestMismatch', `content of ${digest} has digest ${actual}`);
    if (this.has(digest)) return;
    const tmp = path.join(this.root, 'ingest', `${digest.slice(7)}.${randomBytes(4).toString('hex')}`);
    await fsp.writeFile(tmp, bytes);
    await fsp.rename(tmp, this.blobPath(digest));
  }

  /**
   * Stores a blob from `open()`'s stream unless it is there, verifying its sha256 and size on the
   * way; concurrent calls for one digest share one download. Resolves to the blob's path.
   */
  fetch(desc: Descriptor, open: () => Promise<Readable>, onProgress?: (p: BlobProgress) => void): Promise<string> {
    const dest = this.blobPath(desc.digest);
    if (fs.existsSync(dest)) return Promise.resolve(dest);
    const running = this.inflight.get(desc.digest);
    if (running) return running;
    const p = this.download(desc, dest, open, onProgress).finally(() => this.inflight.delete(desc.digest));
    this.inflight.set(desc.digest, p);
    return p;
  }

  private async download(desc: Descriptor, dest: string, open: () => Promise<Readable>, onProgress?: (p: BlobProgress) => void): Promise<string> {
    const tmp = path.join(this.root, 'ingest', `${desc.digest.slice(7)}.${randomBytes(4).toString('hex')}`);
    const hash = createHash('sha256');
    let done = 0;
    let lastReport = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        done += chunk.length;
        if (done > desc.size) {
          cb(new PullError('DigestMismatch', `blob ${desc.digest} is larger than the ${desc.size} bytes its manifest says`));
          return;
        }
        // At most every 64 KiB of progress, and at the end.
        if (onProgress && (done - lastReport >= 65_536 || done === desc.size)) {
          lastReport = done;
          onProgress({ digest: desc.digest, done, total: desc.size });
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeline(await open(), meter, fs.createWriteStream(tmp, { mode: 0o644 }));
      const actual = `sha256:${hash.digest('hex')}`;
      if (done !== desc.size) throw new PullError('DigestMismatch', `blob ${desc.digest}: ${done} bytes received, its manifest says ${desc.size}`);
      if (actual !== desc.digest) throw new PullError('DigestMismatch', `blob ${desc.digest}: its content has digest ${actual}`);
      await fsp.rename(tmp, dest);
      return dest;
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if (err instanceof PullError) throw err;
      // A download cut (a stalled or closed connection) or a full disk.
      throw new PullError('Network', `blob ${desc.digest}: ${(err as Error).message}`, { cause: err });
    }
  }

  private refFile(name: string): string {
    return path.join(this.root, 'refs', `${createHash('sha256').update(name).digest('hex')}.json`);
  }

  /** Records a pulled reference (atomically). */
  async putImage(rec: ImageRecord): Promise<void> {
    const file = this.refFile(rec.name);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, `${JSON.stringify(rec, null, 2)}\n`);
    await fsp.rename(tmp, file);
  }

  /** The record of a reference, when it was pulled and its blobs are all there. */
  async getImage(name: string): Promise<ImageRecord | undefined> {
    let rec: ImageRecord;
    try {
      rec = JSON.parse(await fsp.readFile(this.refFile(name), 'utf8')) as ImageRecord;
    } catch {
      return undefined;
    }
    if (rec.name !== name) return undefined;
    return [rec.config, ...rec.layers].every((d) => this.has(d.digest)) ? rec : undefined;
  }

  /** Every recorded reference, by name. */
  async images(): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const f of await fsp.readdir(path.join(this.root, 'refs')).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await fsp.readFile(path.join(this.root, 'refs', f), 'utf8')) as ImageRecord);
      } catch {
        // being written, or not ours
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Forgets a reference; its blobs stay until garbage collection. True when it was recorded. */
  async removeImage(name: string): Promise<boolean> {
    try {
      await fsp.unlink(this.refFile(name));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Holds `digests` against garbage collection while a pull stores them and before its reference
   * is recorded (containerd's leases): a file `leases/<pid>.<random>` that names them, released
   * at the end; a lease whose process is gone holds nothing.
   */
  async lease(digests: readonly string[]): Promise<{ add(d: string): Promise<void>; release(): Promise<void> }> {
    const dir = path.join(this.root, 'leases');
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${process.pid}.${randomBytes(4).toString('hex')}`);
    const held = new Set(digests);
    const write = (): Promise<void> => fsp.writeFile(file, [...held].join('\n'));
    await write();
    return {
      add: async (d) => {
        held.add(d);
        await write();
      },
      release: () => fsp.rm(file, { force: true }),
    };
  }

  /** The digests held by leases of live processes (the leases of dead ones are removed). */
  async leasedDigests(): Promise<Set<string>> {
    const dir = path.join(this.root, 'leases');
    const out = new Set<string>();
    for (const f of await fsp.readdir(dir).catch(() => [] as string[])) {
      const pid = Number(f.split('.')[0]);
      let alive: boolean;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (!alive) {
        await fsp.rm(path.join(dir, f), { force: true });
        continue;
      }
      for (const d of (await fsp.readFile(path.join(dir, f), 'utf8').catch(() => '')).split('\n')) if (d !== '') out.add(d);
    }
    return out;
  }

}

/** A fetch `Response` body as a Node stream. */
export function nodeStream(res: Response): Readable {
  if (!res.body) return Readable.from([]);
  return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
}

/**
 * Removes every blob no recorded reference uses (config, layers, its manifest and the index it
 * was chosen from) and no pull in progress holds (see {@link ImageStore.lease}; in this process
 * or another). Returns the blobs removed and their bytes.
 */
export async function collectGarbage(store: ImageStore): Promise<{ removed: number; bytes: number }> {
  const keep = await store.leasedDigests();
  for (const rec of await store.images()) {
    keep.add(rec.manifest);
    keep.add(rec.config.digest);
    for (const l of rec.layers) keep.add(l.digest);
    const at = rec.repoDigest.lastIndexOf('@');
    if (at >= 0) keep.add(rec.repoDigest.slice(at + 1));
  }
  const dir = path.join(store.root, 'blobs', 'sha256');
  let removed = 0;
  let bytes = 0;
  for (const hex of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (keep.has(`sha256:${hex}`)) continue;
    const file = path.join(dir, hex);
    const st = await fsp.stat(file).catch(() => undefined);
    await fsp.rm(file, { force: true });
    removed++;
    bytes += st?.size ?? 0;
  }
  return { removed, bytes };
}
