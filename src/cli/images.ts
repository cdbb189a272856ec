/**
 * `podvisor pull`, `podvisor images` and `podvisor rmi`: the image store as a user sees it.
 * The store is shared by `run` and `serve` (`--image-dir`, default
 * `$XDG_CACHE_HOME/podvisor/images`, or `~/.cache/podvisor/images`).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { readDockerConfig } from '../runtime/oci/credentials.js';
import { PullError } from '../runtime/oci/errors.js';
import { pullImage, type Platform } from '../runtime/oci/pull.js';
import { formatImageRef, parseImageRef } from '../runtime/oci/reference.js';
import { RegistryClient } from '../runtime/oci/registry.js';
import { collectGarbage, ImageStore } from '../runtime/oci/store.js';
import { DEFAULT_IMAGE_GC, imageUsers, removeUnusedLayers, type ImageGcPolicy } from '../runtime/oci/image-gc.js';
import { LayerStore } from '../runtime/oci/unpack.js';
import { formatTable, palette } from './view.js';

/** Flags shared by the image verbs. */
export interface ImageFlags {
  imageDir?: string;
  registryConfig?: string;
  insecureRegistry?: string[];
  platform?: string;
  /** `--image-gc-high-threshold` / `--image-gc-low-threshold` (percent of the store's disk). */
  imageGcHighThreshold?: string;
  imageGcLowThreshold?: string;
}

/** The garbage collection policy of the flags, or the problem with them. */
export function imageGcPolicy(f: ImageFlags): ImageGcPolicy | string {
  const pct = (v: string | undefined, flag: string, dflt: number): number | string => {
    if (v === undefined) return dflt;
    const n = v.trim() === '' ? NaN : Number(v);
    return Number.isInteger(n) && n >= 0 && n <= 100 ? n : `${flag} ${JSON.stringify(v)}: expected a percentage from 0 to 100`;
  };
  const high = pct(f.imageGcHighThreshold, '--image-gc-high-threshold', DEFAULT_IMAGE_GC.highPercent);
  const low = pct(f.imageGcLowThreshold, '--image-gc-low-threshold', DEFAULT_IMAGE_GC.lowPercent);
  if (typeof high === 'string') return high;
  if (typeof low === 'string') return low;
  if (low > high) return `--image-gc-low-threshold (${low}) must not be above --image-gc-high-threshold (${high})`;
  return { ...DEFAULT_IMAGE_GC, highPercent: high, lowPercent: low };
}

interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const stdio: Io = { stdout: process.stdout, stderr: process.stderr };

/** The image store's default directory. */
export function defaultImageDir(): string {
  const cache = process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache');
  return path.join(cache, 'podvisor', 'images');
}

/** The registry config's default file. */
export function defaultRegistryConfig(): string {
  return path.join(process.env['DOCKER_CONFIG'] ?? path.join(os.homedir(), '.docker'), 'config.json');
}

/** Sizes as crictl prints them (`4.26MB`, decimal units). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[u] ?? 'B'}`;
}

function parsePlatform(text: string): Platform | string {
  const [os_, arch, variant] = text.split('/');
  if (!os_ || !arch) return `--platform ${JSON.stringify(text)}: expected OS/ARCH[/VARIANT], e.g. linux/amd64`;
  const p: Platform = { os: os_, architecture: arch };
  if (variant) p.variant = variant;
  return p;
}

/**
 * The progress of `podvisor pull` on `out`: on a TTY one line redrawn in place; otherwise one
 * line per blob when it completes. Completion is known from the counts, not from the printed
 * text: an earlier report can show the same rounded sizes as the last one (a blob just above a
 * multiple of the 64 KiB report step), and that blob's line would be missing.
 */
export function pullProgressPrinter(out: NodeJS.WritableStream, tty: boolean): { report: (pr: { kind: string; digest: string; done: number; total: number }) => void; end: () => void } {
  let shown = false;
  const completed = new Set<string>();
  return {
    report: (pr) => {
      const line = `${pr.kind} ${pr.digest.slice(7, 19)}: ${humanSize(pr.done)} / ${humanSize(pr.total)}`;
      shown = true;
      if (tty) out.write(`\r\u001b[2K${line}`);
      else if (pr.done === pr.total && !completed.has(pr.digest)) {
        completed.add(pr.digest);
        out.write(`${line}\n`);
      }
    },
    end: () => {
      if (tty && shown) out.write('\r\u001b[2K');
    },
  };
}

/** `podvisor pull IMAGE`: pulls into the store, with progress on stderr. */
export async function runPull(image: string, f: ImageFlags, io: Io = stdio): Promise<number> {
  const p = palette(io.stderr.isTTY === true && !process.env['NO_COLOR']);
  let platform: Platform | undefined;
  if (f.platform !== undefined) {
    const parsed = parsePlatform(f.platform);
    if (typeof parsed === 'string') {
      io.stderr.write(`error: ${parsed}\n`);
      return 2;
    }
    platform = parsed;
  }
  try {
    const store = await ImageStore.open(f.imageDir ?? defaultImageDir());
    const client = new RegistryClient({ credentials: readDockerConfig(f.registryConfig ?? defaultRegistryConfig()), insecure: f.insecureRegistry ?? [] });
    const t0 = Date.now();
    const tty = io.stderr.isTTY === true;
    const progress = pullProgressPrinter(io.stderr, tty);
    const res = await pullImage(client, store, image, { ...(platform ? { platform } : {}), onProgress: progress.report });
    progress.end();
    const secs = ((Date.now() - t0) / 1000).toFixed(3);
    io.stdout.write(`${p.green('Pulled')} ${res.image.name} (${res.image.repoDigest}) in ${secs}s: ${res.fetched} blobs fetched (${humanSize(res.fetchedBytes)}). Image size: ${res.image.size} bytes.\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`error: ${err instanceof PullError ? err.message : `cannot pull ${image}: ${(err as Error).message}`}\n`);
    return 1;
  }
}

/** `podvisor images`: the store's references. */
export async function runImages(f: ImageFlags, io: Io = stdio): Promise<number> {
  const store = await ImageStore.open(f.imageDir ?? defaultImageDir());
  const users = await imageUsers(store);
  const rows = [['IMAGE', 'TAG', 'DIGEST', 'PLATFORM', 'SIZE', 'PODS']];
  for (const rec of await store.images()) {
    const ref = parseImageRef(rec.name);
    const repo = 'error' in ref ? rec.name : `${ref.registry}/${ref.repository}`;
    const tag = 'error' in ref ? '' : ref.tag ?? '<none>';
    const pods = [...new Set((users.get(rec.name) ?? []).map((u) => `${u.namespace}/${u.pod}`))].sort();
    rows.push([repo, tag, rec.repoDigest.slice(rec.repoDigest.lastIndexOf('@') + 8, rec.repoDigest.lastIndexOf('@') + 20), rec.platform, humanSize(rec.size), pods.length > 0 ? pods.join(',') : '<none>']);
  }
  for (const line of formatTable(rows)) io.stdout.write(`${line}\n`);
  return 0;
}

/** `podvisor rmi IMAGE…`: forgets references, then removes the blobs nothing uses any more. */
export async function runRmi(images: string[], f: ImageFlags, io: Io = stdio): Promise<number> {
  const store = await ImageStore.open(f.imageDir ?? defaultImageDir());
  const users = await imageUsers(store);
  let code = 0;
  for (const image of images) {
    const ref = parseImageRef(image);
    const name = 'error' in ref ? image : formatImageRef(ref);
    const using = [...new Set((users.get(name) ?? []).map((u) => `${u.namespace}/${u.pod}`))];
    if (using.length > 0) {
      io.stderr.write(`error: image ${name} is used by pod${using.length > 1 ? 's' : ''} ${using.join(', ')}: delete ${using.length > 1 ? 'them' : 'it'} first\n`);
      code = 1;
      continue;
    }
    if (await store.removeImage(name)) io.stdout.write(`Deleted: ${name}\n`);
    else {
      io.stderr.write(`error: no such image: ${name} (see podvisor images)\n`);
      code = 1;
    }
  }
  const gc = await collectGarbage(store);
  const layers = await removeUnusedLayers(store, new LayerStore(store));
  if (gc.removed > 0) io.stdout.write(`Removed ${gc.removed} unused blobs (${humanSize(gc.bytes)})\n`);
  if (layers.removed > 0) io.stdout.write(`Removed ${layers.removed} unpacked layers (${humanSize(layers.bytes)})\n`);
  return code;
}
