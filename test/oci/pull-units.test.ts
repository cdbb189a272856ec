/**
 * The puller's local parts: the `WWW-Authenticate` parser, loopback detection, the Docker
 * config reader, platform choice in an index, and the store's verification of blobs (a real
 * directory; streams stand in for the network).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { readDockerConfig } from '../../src/runtime/oci/credentials.js';
import { PullError } from '../../src/runtime/oci/errors.js';
import { choosePlatform } from '../../src/runtime/oci/pull.js';
import { isLoopbackRegistry, parseChallenge, RegistryClient } from '../../src/runtime/oci/registry.js';
import { collectGarbage, ImageStore } from '../../src/runtime/oci/store.js';
import { NO_CREDENTIALS } from '../../src/runtime/oci/credentials.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'podvisor-oci-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('registry client basics', () => {
  it('parses bearer and basic challenges, quoted values with commas included', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"')).toEqual({
      scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('')).toEqual({ scheme: '', params: {} });
  });

  it('uses plain HTTP for loopback and named insecure registries only', () => {
    for (const r of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.8.9.1', '[::1]:5000']) expect(isLoopbackRegistry(r)).toBe(true);
    for (const r of ['registry.example.com', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1']) expect(isLoopbackRegistry(r)).toBe(false);
    const c = new RegistryClient({ credentials: NO_CREDENTIALS, insecure: ['10.0.0.1:5000'] });
    expect(c.baseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(c.baseUrl('10.0.0.1:5000')).toBe('http://10.0.0.1:5000');
    expect(c.baseUrl('registry.example.com')).toBe('https://registry.example.com');
    expect(c.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });
});

describe('Docker config credentials', () => {
  it('reads auth and username/password entries under every key spelling, and names helpers', () => {
    const file = join(tmp(), 'config.json');
    writeFileSync(file, JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pass').toString('base64') },
        'registry.example.com:5000': { username: 'u', password: 'p' },
        'http://other.example.com': { auth: Buffer.from('o:q').toString('base64') },
      },
      credHelpers: { 'gcr.io': 'gcloud' },
    }));
    const c = readDockerConfig(file);
    expect(c.lookup('docker.io')).toEqual({ username: 'hubuser', password: 'hub:pass' });
    expect(c.lookup('registry.example.com:5000')).toEqual({ username: 'u', password: 'p' });
    expect(c.lookup('other.example.com')).toEqual({ username: 'o', password: 'q' });
    expect(c.lookup('nowhere.example.com')).toBeUndefined();
    expect(c.helperFor('gcr.io')).toBe('docker-credential-gcloud');
    expect(c.helperFor('registry.example.com:5000')).toBeUndefined();
  });

  it('a missing file is no credentials; a broken one is an error naming it', () => {
    const d = tmp();
    expect(readDockerConfig(join(d, 'none.json')).lookup('docker.io')).toBeUndefined();
    writeFileSync(join(d, 'bad.json'), '{');
    expect(() => readDockerConfig(join(d, 'bad.json'))).toThrow(/bad\.json is not JSON/);
  });
});

describe('platform choice', () => {
  const d = (n: string): { digest: string; size: number; mediaType: string } => ({ digest: `sha256:${n.repeat(64)}`, size: 10, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  const index = {
    manifests: [
      { ...d('a'), platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { ...d('b'), platform: { os: 'linux', architecture: 'arm64' } },
      { ...d('c'), platform: { os: 'linux', architecture: 'amd64' } },
      { ...d('e'), platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  };
  it('picks the node platform, an arm64 image without variant for a v8 node, and says what is offered otherwise', () => {
    expect(choosePlatform(index, { os: 'linux', architecture: 'amd64' })).toEqual(d('c'));
    expect(choosePlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toEqual(d('b'));
    const none = choosePlatform(index, { os: 'linux', architecture: 's390x' });
    expect(none).toEqual({ error: 'no image for linux/s390x (the index offers linux/arm/v6, linux/arm64, linux/amd64)' });
    expect(choosePlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' })).toHaveProperty('error');
  });
});

describe('image store', () => {
  const blob = Buffer.from('layer bytes '.repeat(10_000));
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

  it('stores a verified blob once, even for concurrent fetches, with progress', async () => {
    const store = await ImageStore.open(tmp());
    let opened = 0;
    const seen: number[] = [];
    const open = (): Promise<Readable> => {
      opened++;
      return Promise.resolve(Readable.from([blob.subarray(0, 70_000), blob.subarray(70_000)]));
    };
    const desc = { mediaType: 'x', digest, size: blob.length };
    const [a, b] = await Promise.all([store.fetch(desc, open, (p) => seen.push(p.done)), store.fetch(desc, open)]);
    expect(a).toBe(b);
    expect(opened).toBe(1);
    expect(store.has(digest)).toBe(true);
    expect(seen.at(-1)).toBe(blob.length);
    expect(await store.fetch(desc, open)).toBe(a);
    expect(opened).toBe(1);
  });

  it('refuses content whose digest or size is not the manifest\'s, and leaves nothing behind', async () => {
    const root = tmp();
    const store = await ImageStore.open(root);
    const wrong = Buffer.from(blob);
    wrong[5] = 0x21;
    const bad = (b: Buffer) => (): Promise<Readable> => Promise.resolve(Readable.from([b]));
    await expect(store.fetch({ mediaType: 'x', digest, size: blob.length }, bad(wrong))).rejects.toMatchObject({ kind: 'DigestMismatch' });
    await expect(store.fetch({ mediaType: 'x', digest, size: blob.length - 1 }, bad(blob))).rejects.toBeInstanceOf(PullError);
    await expect(store.fetch({ mediaType: 'x', digest, size: blob.length + 1 }, bad(blob))).rejects.toMatchObject({ kind: 'DigestMismatch' });
    expect(store.has(digest)).toBe(false);
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
    await expect(store.putBytes(digest, wrong)).rejects.toMatchObject({ kind: 'DigestMismatch' });
  });

  it('records references and collects the blobs none uses', async () => {
    const store = await ImageStore.open(tmp());
    await store.putBytes(digest, blob);
    const other = Buffer.from('unused');
    const otherDigest = `sha256:${createHash('sha256').update(other).digest('hex')}`;
    await store.putBytes(otherDigest, other);
    const rec = {
      name: 'example.com/a:v1', repoDigest: `example.com/a@${digest}`, manifest: digest, platform: 'linux/amd64',
      config: { mediaType: 'c', digest, size: blob.length }, layers: [], size: blob.length, pulledAt: new Date(0).toISOString(),
    };
    await store.putImage(rec);
    expect(await store.getImage('example.com/a:v1')).toEqual(rec);
    expect(await collectGarbage(store)).toEqual({ removed: 1, bytes: other.length });
    expect(existsSync(store.blobPath(otherDigest))).toBe(false);
    expect(store.has(digest)).toBe(true);
    expect(await store.removeImage('example.com/a:v1')).toBe(true);
    expect(await collectGarbage(store)).toEqual({ removed: 1, bytes: blob.length });
  });
});

describe('registry client timeouts', () => {
  it('a slow blob that keeps coming is read to its end; a stalled one fails after the idle timeout', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (req.url?.includes('stall')) {
        res.write('x'); // then nothing
        return;
      }
      let n = 0;
      const t = setInterval(() => {
        res.write('y');
        if (++n === 6) {
          clearInterval(t);
          res.end();
        }
      }, 250);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      // Headers at once, then 1.5 s of body with 250 ms pauses: longer than timeoutMs, each pause
      // well within idleTimeoutMs (margins for a loaded 2-core machine).
      const c = new RegistryClient({ credentials: NO_CREDENTIALS, timeoutMs: 1_000, idleTimeoutMs: 1_000 });
      const ref = { registry: `127.0.0.1:${port}`, repository: 'x' };
      const ok = await c.blob(ref, 'sha256:slow');
      expect(await ok.text()).toBe('yyyyyy');
      const stalled = await c.blob(ref, 'sha256:stall');
      await expect(stalled.text()).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('garbage collection and pulls in progress', () => {
  it('keeps the blobs a live process leases, and drops the leases of dead processes', async () => {
    const store = await ImageStore.open(tmp());
    const a = Buffer.from('held by a pull in progress');
    const b = Buffer.from('held by a dead process');
    const da = `sha256:${createHash('sha256').update(a).digest('hex')}`;
    const db = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    await store.putBytes(da, a);
    await store.putBytes(db, b);
    const lease = await store.lease([da]);
    // A lease left by a process that is gone (PID 2^22 + 1 is above Linux's pid_max).
    writeFileSync(join(store.root, 'leases', `${2 ** 22 + 1}.dead`), db);
    expect(await collectGarbage(store)).toEqual({ removed: 1, bytes: b.length });
    expect(store.has(da)).toBe(true);
    expect(readdirSync(join(store.root, 'leases'))).toHaveLength(1);
    await lease.release();
    expect(await collectGarbage(store)).toEqual({ removed: 1, bytes: a.length });
    expect(readdirSync(join(store.root, 'leases'))).toEqual([]);
  });
});
