/**
 * Pulling an image: resolve the reference to a manifest (an index or a manifest list is resolved
 * for the node's platform), check every manifest's bytes against the digest that names it (the
 * reference's own digest, or the registry's `Docker-Content-Digest`), then fetch the config and
 * the layers into the {@link ImageStore}, each verified by its sha256 and size. What is stored
 * already is not fetched again.
 */
import { createHash } from 'node:crypto';
import { PullError } from './errors.js';
import { isIndex, isManifest, layerCompression, DOCKER_SCHEMA1, MANIFEST_ACCEPT } from './media-types.js';
import { formatImageRef, parseImageRef, repositoryName, type ImageRef } from './reference.js';
import type { RegistryClient } from './registry.js';
import { nodeStream, type BlobProgress, type Descriptor, type ImageRecord, type ImageStore } from './store.js';

/** A platform as indexes name it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The platform of this node, in OCI's words (`process.arch` `x64` is `amd64`, …). */
export function nodePlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const p: Platform = { os: 'linux', architecture: arch[process.arch] ?? process.arch };
  if (process.arch === 'arm') p.variant = 'v7';
  if (process.arch === 'arm64') p.variant = 'v8';
  return p;
}

function platformText(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ''}`;
}

/** Options of {@link pullImage}. */
export interface PullOptions {
  platform?: Platform;
  /** Blobs fetched at once. */
  concurrency?: number;
  onProgress?: (p: BlobProgress & { kind: 'config' | 'layer' }) => void;
}

/** What a pull did. */
export interface PullResult {
  image: ImageRecord;
  /** Blobs fetched (not in the store before). */
  fetched: number;
  /** Their bytes. */
  fetchedBytes: number;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new PullError('Registry', `${what} is not JSON`);
}

function descriptorOf(x: unknown, what: string): Descriptor {
  const d = (typeof x === 'object' && x !== null ? x : {}) as { mediaType?: unknown; digest?: unknown; size?: unknown };
  if (typeof d.digest !== 'string' || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new PullError('Registry', `${what} has a malformed descriptor`);
  }
  return { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size };
}

/** Picks the manifest of `platform` from an index; the reason when none fits. */
export function choosePlatform(index: Record<string, unknown>, platform: Platform): Descriptor | { error: string } {
  const manifests = Array.isArray(index.manifests) ? index.manifests as unknown[] : [];
  const offered: string[] = [];
  let fallback: Descriptor | undefined;
  for (const m of manifests) {
    const p = ((m as { platform?: unknown }).platform ?? {}) as { os?: unknown; architecture?: unknown; variant?: unknown };
    if (typeof p.os !== 'string' || typeof p.architecture !== 'string' || p.os === 'unknown') continue;
    offered.push(`${p.os}/${p.architecture}${typeof p.variant === 'string' ? `/${p.variant}` : ''}`);
    if (p.os !== platform.os || p.architecture !== platform.architecture) continue;
    const d = descriptorOf(m, 'an index entry');
    if (p.variant === undefined || p.variant === platform.variant) return d;
    fallback ??= d; // another variant of the same architecture (v8 images serve v8 nodes)
  }
  if (fallback && platform.architecture === 'arm64') return fallback;
  return { error: `no image for ${platformText(platform)} (the index offers ${offered.length > 0 ? offered.join(', ') : 'nothing'})` };
}

/**
 * Fetches a manifest by tag or digest and checks its bytes: against the digest asked for, or the
 * one the registry names in `Docker-Content-Digest`. Returns its digest, media type and JSON.
 */
async function fetchManifest(client: RegistryClient, ref: ImageRef, reference: string): Promise<{ digest: string; mediaType: string; json: Record<string, unknown>; body: Buffer }> {
  const got = await client.manifest(ref, reference, MANIFEST_ACCEPT);
  const digest = sha256(got.body);
  const name = `${repositoryName(ref)}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw new PullError('DigestMismatch', `${name}: the registry served a manifest with digest ${digest}`);
  }
  if (got.headerDigest !== undefined && got.headerDigest.startsWith('sha256:') && got.headerDigest !== digest) {
    throw new PullError('DigestMismatch', `${name}: the manifest's content has digest ${digest}, the registry says ${got.headerDigest}`);
  }
  const json = parseJson(got.body, `manifest ${name}`);
  const mediaType = typeof json.mediaType === 'string' && json.mediaType !== '' ? json.mediaType : got.mediaType;
  if (DOCKER_SCHEMA1.includes(mediaType) || json.schemaVersion === 1) {
    throw new PullError('Unsupported', `${name} is a Docker schema 1 image, which podvisor (like containerd 2) does not pull: push it again with a current tool`);
  }
  return { digest, mediaType, json, body: got.body };
}

/** A manifest from the store (verified against its digest when it was stored). */
async function storedManifest(store: ImageStore, d: Descriptor): Promise<{ digest: string; mediaType: string; json: Record<string, unknown>; body: Buffer }> {
  const body = await store.read(d.digest);
  const json = parseJson(body, `manifest ${d.digest}`);
  const mediaType = typeof json.mediaType === 'string' && json.mediaType !== '' ? json.mediaType : d.mediaType;
  return { digest: d.digest, mediaType, json, body };
}

async function allLimited<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      const x = items[i];
      if (x !== undefined) await fn(x);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Pulls `reference` into `store` (see the module comment). Rejects with a {@link PullError}
 * (`InvalidImageName` for a reference that does not parse).
 */
export async function pullImage(client: RegistryClient, store: ImageStore, reference: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseImageRef(reference);
  if ('error' in ref) throw new PullError('InvalidImageName', `invalid image name ${JSON.stringify(reference)}: ${ref.error}`);
  const platform = opts.platform ?? nodePlatform();
  const top = await fetchManifest(client, ref, ref.digest ?? ref.tag ?? 'latest');
  // Held against a garbage collection (another process's `rmi`) until the reference is recorded.
  const lease = await store.lease([top.digest]);
  try {
    return await pullResolved(client, store, ref, platform, top, lease, opts);
  } finally {
    await lease.release();
  }
}

async function pullResolved(
  client: RegistryClient, store: ImageStore, ref: ImageRef, platform: Platform,
  top: Awaited<ReturnType<typeof fetchManifest>>, lease: { add(d: string): Promise<void> }, opts: PullOptions,
): Promise<PullResult> {
  let man = top;
  if (isIndex(top.mediaType)) {
    const chosen = choosePlatform(top.json, platform);
    if ('error' in chosen) throw new PullError('NoMatchingPlatform', `${formatImageRef(ref)}: ${chosen.error}`);
    // A manifest already stored was checked against its digest when it was: no request (this is
    // what keeps the re-check of an unchanged multi-platform image at one manifest request).
    await lease.add(chosen.digest); // before it is read: another process's garbage collection keeps it
    man = store.has(chosen.digest) ? await storedManifest(store, chosen) : await fetchManifest(client, ref, chosen.digest);
    await store.putBytes(top.digest, top.body);
  }
  if (!isManifest(man.mediaType)) {
    throw new PullError('Unsupported', `${formatImageRef(ref)}: unsupported manifest type ${JSON.stringify(man.mediaType)}`);
  }
  const config = descriptorOf(man.json.config, `manifest ${man.digest}`);
  const layers = (Array.isArray(man.json.layers) ? man.json.layers as unknown[] : []).map((l) => descriptorOf(l, `manifest ${man.digest}`));
  for (const l of layers) {
    if (layerCompression(l.mediaType) === undefined) throw new PullError('Unsupported', `${formatImageRef(ref)}: layer ${l.digest} has unsupported media type ${JSON.stringify(l.mediaType)}`);
  }
  for (const d of [config, ...layers]) await lease.add(d.digest);
  await store.putBytes(man.digest, man.body);
  let fetched = 0;
  let fetchedBytes = 0;
  const blobs: { d: Descriptor; kind: 'config' | 'layer' }[] = [{ d: config, kind: 'config' }, ...layers.map((d) => ({ d, kind: 'layer' as const }))];
  await allLimited(blobs, opts.concurrency ?? 3, async ({ d, kind }) => {
    if (store.has(d.digest)) return;
    await store.fetch(d, async () => nodeStream(await client.blob(ref, d.digest)), (p) => opts.onProgress?.({ ...p, kind }));
    fetched++;
    fetchedBytes += d.size;
  });
  const image: ImageRecord = {
    name: formatImageRef(ref),
    repoDigest: `${repositoryName(ref)}@${top.digest}`,
    manifest: man.digest,
    platform: platformText(platform),
    config,
    layers,
    size: config.size + layers.reduce((n, l) => n + l.size, 0),
    pulledAt: new Date().toISOString(),
  };
  await store.putImage(image);
  return { image, fetched, fetchedBytes };
}
