/**
 * Proves the OCI registry fixture (registry-fixture.ts) with tools that are not the puller:
 * skopeo, GNU tar, gzip, zstd and plain `fetch` against the registry API. The images exist with
 * the claimed media types and digests, the layer tars hold what the puller tests rely on
 * (whiteouts, an opaque dir, a hard link, absolute symlinks), the token registry refuses
 * anonymous clients with a Bearer challenge and serves the token flow, and `requests()` shows
 * what clients fetched.
 *
 * Skipped when a tool is missing, unless `CI=true`: there a missing tool fails.
 */
import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCEPT_ALL, buildImages, fetchToken, fixtureProblem, LAYERS_IMAGE, MEDIA, run, startRegistry,
  type BuiltImages, type TestRegistry,
} from './registry-fixture.js';

const problem = fixtureProblem();
const skip = problem !== undefined && process.env.CI !== 'true';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Descriptor { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string } }
interface Manifest { schemaVersion: number; mediaType?: string; config: Descriptor; layers: Descriptor[] }
interface Index { schemaVersion: number; mediaType?: string; manifests: Descriptor[] }
interface ImageConfig {
  architecture: string; os: string;
  config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string; User?: string };
  rootfs: { type: string; diff_ids: string[] };
}

describe.skipIf(skip)('OCI registry fixture', () => {
  let reg: TestRegistry;
  let treg: TestRegistry;
  let images: BuiltImages;
  let tmp: string;

  beforeAll(async () => {
    if (problem) throw new Error(`the OCI registry fixture cannot run here: ${problem}`);
    tmp = await mkdtemp(join(tmpdir(), 'podvisor-fixture-test-'));
    reg = await startRegistry();
    treg = await startRegistry({ tokenAuth: true });
    images = await buildImages(reg, { tokenRegistry: treg });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([reg?.stop(), treg?.stop()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const skopeo = async (...args: string[]): Promise<string> => (await run('skopeo', args)).stdout.toString();
  const inspectRaw = (ref: string, ...extra: string[]): Promise<string> => skopeo('inspect', '--raw', '--tls-verify=false', ...extra, `docker://${ref}`);
  const inspectConfig = async (ref: string, ...global: string[]): Promise<ImageConfig> =>
    JSON.parse(await skopeo(...global, 'inspect', '--config', '--tls-verify=false', `docker://${ref}`)) as ImageConfig;

  /** A blob from the registry API, checked against its digest. */
  async function blob(r: TestRegistry, repo: string, digest: string, token?: string): Promise<Buffer> {
    const res = await fetch(`http://${r.host}/v2/${repo}/blobs/${digest}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(sha256(body)).toBe(digest);
    return body;
  }

  let files = 0;
  async function saved(data: Buffer): Promise<string> {
    const p = join(tmp, `blob-${++files}`);
    await writeFile(p, data);
    return p;
  }
  /** `tar -tv` of a compressed layer, one entry a line, without the date columns. */
  async function listing(data: Buffer, compression: '-z' | '--zstd'): Promise<string[]> {
    const out = (await run('tar', [compression, '-tvf', await saved(data)])).stdout.toString();
    // "-rw-r--r-- 0/0  5 2023-11-14 22:13 data/keep" -> "-rw-r--r-- 0/0 5 data/keep"
    return out.split('\n').filter((l) => l !== '').map((l) => l.replace(/^(\S+) (\S+)\s+(\d+) \S+ \S+ /, '$1 $2 $3 '));
  }

  it('has its tools (CI must not skip)', () => {
    expect(problem).toBeUndefined();
  });

  describe('podvisor-test/layers:v1', () => {
    it('is an OCI manifest with three gzip layers, served with the digest the fixture returned', async () => {
      const raw = await inspectRaw(images.layers.ref);
      expect(sha256(raw)).toBe(images.layers.digest);
      expect(images.layers.ref).toBe(`${reg.host}/podvisor-test/layers:v1`);
      expect(images.layers.mediaType).toBe(MEDIA.ociManifest);
      const m = JSON.parse(raw) as Manifest;
      expect(m.schemaVersion).toBe(2);
      expect(m.mediaType).toBeUndefined(); // umoci leaves out the optional field: Content-Type tells
      expect(m.config.mediaType).toBe(MEDIA.ociConfig);
      expect(m.config.digest).toBe(images.layers.config);
      expect(m.layers.map((l) => l.mediaType)).toEqual([MEDIA.ociLayerGzip, MEDIA.ociLayerGzip, MEDIA.ociLayerGzip]);
      expect(m.layers.map((l) => l.digest)).toEqual(images.layers.layers);
    });

    it('has the claimed config: linux/amd64, Cmd, Env, WorkingDir, no User; diff_ids of the gunzipped layers', async () => {
      const cfg = await inspectConfig(images.layers.ref);
      expect(cfg.architecture).toBe('amd64');
      expect(cfg.os).toBe('linux');
      expect(cfg.config.Cmd).toEqual(['/bin/sh', '-c', 'echo hello']);
      expect(cfg.config.Entrypoint).toBeUndefined();
      expect(cfg.config.Env).toEqual(['PATH=/bin', 'GREETING=from-image']);
      expect(cfg.config.WorkingDir).toBe('/data');
      expect(cfg.config.User ?? '').toBe('');
      expect(cfg.config.Cmd).toEqual(LAYERS_IMAGE.cmd);
      expect(cfg.rootfs.type).toBe('layers');
      const repo = 'podvisor-test/layers';
      const tars = await Promise.all(images.layers.layers.map(async (d) => (await run('gzip', ['-dc'], { input: await blob(reg, repo, d) })).stdout));
      expect(tars.map((t) => sha256(t))).toEqual(cfg.rootfs.diff_ids);
      // The config blob itself is what the manifest names.
      expect(sha256(await blob(reg, repo, images.layers.config))).toBe(images.layers.config);
    });

    it('layer 1: static busybox with relative applet links, etc/motd, the files the upper layers hide', async () => {
      const [l1] = images.layers.layers;
      const data = await blob(reg, 'podvisor-test/layers', l1 ?? '');
      const lines = await listing(data, '-z');
      const busybox = await readFile('/bin/busybox');
      expect(lines).toContain(`-rwxr-xr-x 0/0 ${busybox.length} bin/busybox`);
      for (const a of ['sh', 'ls', 'cat', 'id', 'touch', 'sleep', 'echo', 'tar', 'stat', 'readlink']) {
        expect(lines).toContain(`lrwxrwxrwx 0/0 0 bin/${a} -> busybox`);
      }
      for (const d of ['bin/', 'etc/', 'data/', 'opq/', 'usr/', 'usr/lib/']) expect(lines).toContain(`drwxr-xr-x 0/0 0 ${d}`);
      for (const [f, size] of [['etc/motd', 7], ['data/keep', 5], ['data/gone', 5], ['opq/old1', 5], ['opq/old2', 5], ['usr/lib/marker', 7]] as const) {
        expect(lines).toContain(`-rw-r--r-- 0/0 ${size} ${f}`);
      }
      const p = await saved(data);
      expect((await run('tar', ['-xzOf', p, 'etc/motd'])).stdout.toString()).toBe('layer1\n');
      expect(sha256((await run('tar', ['-xzOf', p, 'bin/busybox'])).stdout)).toBe(sha256(busybox));
    });

    it('layer 2: whiteout, opaque whiteout, a hard link entry and absolute symlinks', async () => {
      const data = await blob(reg, 'podvisor-test/layers', images.layers.layers[1] ?? '');
      // GNU tar, as the brief asks: tar -tvzf.
      const raw = (await run('tar', ['-tvzf', await saved(data)])).stdout.toString();
      expect(raw).toMatch(/^-rw-r--r-- 0\/0 +0 .* data\/\.wh\.gone$/m);
      expect(raw).toMatch(/^-rw-r--r-- 0\/0 +0 .* opq\/\.wh\.\.wh\.\.opq$/m);
      expect(raw).toMatch(/^h\S+ 0\/0 +0 .* hl\/b link to hl\/a$/m);
      expect(raw).toMatch(/^l\S+ 0\/0 +0 .* abs -> \/etc\/motd$/m);
      expect(raw).toMatch(/^l\S+ 0\/0 +0 .* lib -> \/usr\/lib$/m);
      expect(await listing(data, '-z')).toEqual([
        'lrwxrwxrwx 0/0 0 abs -> /etc/motd',
        'drwxr-xr-x 0/0 0 data/',
        '-rw-r--r-- 0/0 0 data/.wh.gone',
        'drwxr-xr-x 0/0 0 hl/',
        '-rw-r--r-- 0/0 9 hl/a',
        'hrw-r--r-- 0/0 0 hl/b link to hl/a',
        'lrwxrwxrwx 0/0 0 lib -> /usr/lib',
        'drwxr-xr-x 0/0 0 opq/',
        '-rw-r--r-- 0/0 0 opq/.wh..wh..opq',
        '-rw-r--r-- 0/0 4 opq/new',
      ]);
    });

    it('layer 3: etc/motd overwritten', async () => {
      const data = await blob(reg, 'podvisor-test/layers', images.layers.layers[2] ?? '');
      expect(await listing(data, '-z')).toEqual(['drwxr-xr-x 0/0 0 etc/', '-rw-r--r-- 0/0 7 etc/motd']);
      expect((await run('tar', ['-xzOf', await saved(data), 'etc/motd'])).stdout.toString()).toBe(LAYERS_IMAGE.merged.files['etc/motd']);
    });
  });

  describe('podvisor-test/zstd:v1', () => {
    it('has tar+zstd layers: zstd frames of the same tars, the same config', async () => {
      const raw = await inspectRaw(images.zstd.ref);
      expect(sha256(raw)).toBe(images.zstd.digest);
      const m = JSON.parse(raw) as Manifest;
      expect(m.mediaType).toBeUndefined();
      expect(images.zstd.mediaType).toBe(MEDIA.ociManifest);
      expect(m.layers.map((l) => l.mediaType)).toEqual([MEDIA.ociLayerZstd, MEDIA.ociLayerZstd, MEDIA.ociLayerZstd]);
      expect(m.layers.map((l) => l.digest)).toEqual(images.zstd.layers);
      expect(images.zstd.layers).not.toEqual(images.layers.layers);
      expect(m.config.digest).toBe(images.layers.config);
      const cfg = await inspectConfig(images.zstd.ref);
      for (const [i, d] of images.zstd.layers.entries()) {
        const data = await blob(reg, 'podvisor-test/zstd', d);
        expect(data.subarray(0, 4).toString('hex')).toBe('28b52ffd'); // zstd frame magic
        expect(sha256((await run('zstd', ['-dc'], { input: data })).stdout)).toBe(cfg.rootfs.diff_ids[i]);
      }
      const l2 = await listing(await blob(reg, 'podvisor-test/zstd', images.zstd.layers[1] ?? ''), '--zstd');
      expect(l2).toContain('hrw-r--r-- 0/0 0 hl/b link to hl/a');
      expect(l2).toContain('-rw-r--r-- 0/0 0 opq/.wh..wh..opq');
    });
  });

  describe('multi-platform images', () => {
    const cases = [
      { name: 'OCI image index', key: 'multi', repo: 'podvisor-test/multi', top: MEDIA.ociIndex, child: MEDIA.ociManifest, config: MEDIA.ociConfig, layer: MEDIA.ociLayerGzip },
      { name: 'Docker manifest list', key: 'multiDocker', repo: 'podvisor-test/multi-docker', top: MEDIA.dockerList, child: MEDIA.dockerManifest, config: MEDIA.dockerConfig, layer: MEDIA.dockerLayerGzip },
    ] as const;
    for (const c of cases) {
      it(`${c.repo}:v1 is an ${c.name} of linux/amd64 and linux/arm64`, async () => {
        const img = images[c.key];
        expect(img.ref).toBe(`${reg.host}/${c.repo}:v1`);
        const res = await fetch(`http://${reg.host}/v2/${c.repo}/manifests/v1`, { headers: { accept: ACCEPT_ALL } });
        const raw = Buffer.from(await res.arrayBuffer());
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(c.top);
        expect(res.headers.get('docker-content-digest')).toBe(img.digest);
        expect(sha256(raw)).toBe(img.digest);
        expect(await inspectRaw(img.ref)).toBe(raw.toString());
        const index = JSON.parse(raw.toString()) as Index;
        expect(index.schemaVersion).toBe(2);
        expect(index.mediaType).toBe(c.top);
        expect(index.manifests.map((d) => [d.mediaType, `${d.platform?.os}/${d.platform?.architecture}`, d.digest])).toEqual([
          [c.child, 'linux/amd64', img.platforms['linux/amd64']],
          [c.child, 'linux/arm64', img.platforms['linux/arm64']],
        ]);
        for (const arch of ['amd64', 'arm64']) {
          const digest = img.platforms[`linux/${arch}`] ?? '';
          const childRaw = await inspectRaw(`${reg.host}/${c.repo}@${digest}`);
          expect(sha256(childRaw)).toBe(digest);
          const m = JSON.parse(childRaw) as Manifest;
          expect(m.mediaType).toBe(c.child === MEDIA.ociManifest ? undefined : c.child);
          expect(m.config.mediaType).toBe(c.config);
          expect(m.layers.map((l) => l.mediaType)).toEqual([c.layer, c.layer, c.layer]);
          expect(m.layers.map((l) => l.digest)).toEqual(images.layers.layers);
          if (arch === 'amd64') expect(img.config).toBe(m.config.digest);
          // skopeo resolves the index for the platform it is told.
          const cfg = await inspectConfig(img.ref, '--override-arch', arch, '--override-os', 'linux');
          expect(sha256(await blob(reg, c.repo, m.config.digest))).toBe(m.config.digest);
          expect(cfg.architecture).toBe(arch);
          expect(cfg.os).toBe('linux');
          expect(cfg.config.Env).toEqual([...LAYERS_IMAGE.env, `PLATFORM=${arch}`]);
          expect(cfg.config.Cmd).toEqual(LAYERS_IMAGE.cmd);
        }
        expect(img.layers).toEqual(images.layers.layers);
      });
    }

    it('the index has no tags besides v1 (its manifests were pushed by digest)', async () => {
      for (const repo of ['podvisor-test/multi', 'podvisor-test/multi-docker']) {
        const res = await fetch(`http://${reg.host}/v2/${repo}/tags/list`);
        expect(await res.json()).toEqual({ name: repo, tags: ['v1'] });
      }
    });
  });

  describe('token registry', () => {
    const privRepo = 'podvisor-test/private';

    it('refuses anonymous clients with a Bearer challenge naming the token server', async () => {
      const tok = treg.token;
      expect(tok).toBeDefined();
      if (!tok) return;
      const res = await fetch(`http://${treg.host}/v2/`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${tok.realm}",service="${tok.service}"`);
      const m = await fetch(`http://${treg.host}/v2/${privRepo}/manifests/v1`, { headers: { accept: ACCEPT_ALL } });
      expect(m.status).toBe(401);
      expect(m.headers.get('www-authenticate')).toBe(`Bearer realm="${tok.realm}",service="${tok.service}",scope="repository:${privRepo}:pull"`);
      await expect(inspectRaw(images.private?.ref ?? '')).rejects.toThrow(/unauthorized|authentication required|401/i);
    });

    it('the token server wants user tester, password secret', async () => {
      const tok = treg.token;
      if (!tok) throw new Error('no token server');
      const url = `${tok.realm}?service=${tok.service}&scope=repository:${privRepo}:pull`;
      expect((await fetch(url)).status).toBe(401);
      const wrong = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('tester:wrong').toString('base64')}` } });
      expect(wrong.status).toBe(401);
      await expect(fetchToken(tok, [`repository:${privRepo}:pull`], { user: 'tester', password: 'nope' })).rejects.toThrow(/401/);
      const ok = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('tester:secret').toString('base64')}` } });
      expect(ok.status).toBe(200);
      const body = await ok.json() as { token: string; access_token: string; expires_in: number };
      expect(body.expires_in).toBe(300);
      expect(body.access_token).toBe(body.token);
      // An RS256 JWT signed by the key of the certificate in its x5c header.
      const [h, c, s] = body.token.split('.');
      const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as { alg: string; x5c: string[] };
      const claims = JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<string, unknown>;
      expect(header.alg).toBe('RS256');
      const cert = new X509Certificate(Buffer.from(header.x5c[0] ?? '', 'base64'));
      expect(verify('sha256', Buffer.from(`${h}.${c}`), createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' })), Buffer.from(s ?? '', 'base64url'))).toBe(true);
      expect(claims).toMatchObject({ iss: tok.issuer, sub: 'tester', aud: tok.service, access: [{ type: 'repository', name: privRepo, actions: ['pull'] }] });
      for (const k of ['exp', 'nbf', 'iat', 'jti']) expect(claims[k]).toBeDefined();
      expect(tok.requests().some((r) => r.startsWith('GET /token?') && r.includes('scope='))).toBe(true);
    });

    it('a token for the repository lets a client pull; a token for another one does not', async () => {
      const tok = treg.token;
      const img = images.private;
      if (!tok || !img) throw new Error('no token registry image');
      expect(img.ref).toBe(`${treg.host}/${privRepo}:v1`);
      expect(img.digest).toBe(images.layers.digest);
      const token = await fetchToken(tok, [`repository:${privRepo}:pull`]);
      const res = await fetch(`http://${treg.host}/v2/${privRepo}/manifests/v1`, { headers: { accept: ACCEPT_ALL, authorization: `Bearer ${token}` } });
      const raw = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(MEDIA.ociManifest);
      expect(sha256(raw)).toBe(img.digest);
      for (const d of img.layers) await blob(treg, privRepo, d, token);
      const other = await fetchToken(tok, ['repository:podvisor-test/other:pull']);
      const denied = await fetch(`http://${treg.host}/v2/${privRepo}/manifests/v1`, { headers: { accept: ACCEPT_ALL, authorization: `Bearer ${other}` } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      // skopeo does the whole flow itself.
      expect(sha256(await inspectRaw(img.ref, '--creds', 'tester:secret'))).toBe(img.digest);
    });
  });

  describe('requests()', () => {
    it('lists what a client fetched, from the access log', async () => {
      const before = (await reg.settle()).length;
      await skopeo('copy', '-q', '--insecure-policy', '--src-tls-verify=false', `docker://${images.layers.ref}`, `dir:${join(tmp, 'pulled')}`);
      const seen = (await reg.settle()).slice(before);
      const repo = '/v2/podvisor-test/layers';
      expect(seen).toContain(`GET ${repo}/manifests/v1`);
      for (const d of [...images.layers.layers, images.layers.config]) expect(seen).toContain(`GET ${repo}/blobs/${d}`);
      expect(seen.every((r) => /^(GET|HEAD) \/v2\//.test(r))).toBe(true);
      const log = reg.accessLog().slice(before);
      expect(log.find((e) => e.uri === `${repo}/blobs/${images.layers.layers[0]}`)).toMatchObject({ method: 'GET', status: 200 });
      expect(log.every((e) => e.userAgent.startsWith('skopeo/'))).toBe(true);
    });

    it('keeps the build: the index and list were PUT by tag, their manifests by digest', () => {
      const all = reg.requests();
      expect(all).toContain('PUT /v2/podvisor-test/multi/manifests/v1');
      expect(all).toContain('PUT /v2/podvisor-test/multi-docker/manifests/v1');
      for (const d of Object.values(images.multi.platforms)) expect(all).toContain(`PUT /v2/podvisor-test/multi/manifests/${d}`);
      expect(all.some((r) => r.includes('podvisor-fixture-mark'))).toBe(false);
    });

    it('the token registry logs the refused requests too', async () => {
      const before = (await treg.settle()).length;
      expect((await fetch(`http://${treg.host}/v2/podvisor-test/private/tags/list`)).status).toBe(401);
      await treg.settle();
      const seen = treg.accessLog().slice(before);
      expect(seen.length).toBe(1);
      expect(seen[0]).toMatchObject({ method: 'GET', uri: '/v2/podvisor-test/private/tags/list', status: 401 });
    });
  });

  it('stop() ends the registry', async () => {
    const r = await startRegistry();
    expect((await fetch(`http://${r.host}/v2/`)).status).toBe(200);
    await r.stop();
    await expect(fetch(`http://${r.host}/v2/`)).rejects.toThrow();
  });
});
