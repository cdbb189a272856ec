/**
 * Pulling from real registries on loopback (Debian's docker-registry, images built in the test
 * setup, see registry-fixture.ts): anonymous and bearer-token registries, OCI manifests and
 * indexes, Docker manifest lists, gzip and zstd layers, digests checked, nothing fetched twice;
 * and the `podvisor pull`/`images`/`rmi` verbs of the built CLI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CREDENTIALS, readDockerConfig } from '../../src/runtime/oci/credentials.js';
import { pullImage } from '../../src/runtime/oci/pull.js';
import { RegistryClient } from '../../src/runtime/oci/registry.js';
import { ImageStore } from '../../src/runtime/oci/store.js';
import { buildImages, fixtureProblem, startRegistry, type BuiltImages, type TestRegistry } from './registry-fixture.js';

const problem = fixtureProblem();
const skip = problem !== undefined && process.env.CI !== 'true';
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'podvisor.js');

describe.skipIf(skip)('pulling images', () => {
  let reg: TestRegistry;
  let treg: TestRegistry;
  let images: BuiltImages;
  let tmp: string;
  const client = new RegistryClient({ credentials: NO_CREDENTIALS });

  beforeAll(async () => {
    if (problem !== undefined) throw new Error(problem);
    tmp = await mkdtemp(join(tmpdir(), 'podvisor-pull-'));
    [reg, treg] = await Promise.all([startRegistry(), startRegistry({ tokenAuth: true })]);
    images = await buildImages(reg, { tokenRegistry: treg });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([reg?.stop(), treg?.stop()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const blobGets = (reqs: string[]): string[] => reqs.filter((r) => r.startsWith('GET ') && r.includes('/blobs/'));

  it('pulls a multi-layer OCI image: every blob verified and stored once, nothing fetched again', async () => {
    const store = await ImageStore.open(join(tmp, 'a'));
    const n = (await reg.settle()).length;
    const res = await pullImage(client, store, images.layers.ref);
    expect(res.image.name).toBe(images.layers.ref);
    expect(res.image.repoDigest).toBe(`${images.layers.ref.replace(/:v1$/, '')}@${images.layers.digest}`);
    expect(res.image.manifest).toBe(images.layers.digest);
    expect(res.image.layers.map((l) => l.digest)).toEqual(images.layers.layers);
    expect(res.image.config.digest).toBe(images.layers.config);
    expect(res.fetched).toBe(4);
    for (const d of [images.layers.config, ...images.layers.layers]) expect(sha256(await store.read(d))).toBe(d);
    const first = (await reg.settle()).slice(n);
    expect(blobGets(first).sort()).toEqual([images.layers.config, ...images.layers.layers].map((d) => `GET /v2/podvisor-test/layers/blobs/${d}`).sort());
    // Again, by tag and by digest: manifests only.
    const m = (await reg.settle()).length;
    expect((await pullImage(client, store, images.layers.ref)).fetched).toBe(0);
    expect((await pullImage(client, store, `${images.layers.ref.replace(/:v1$/, '')}@${images.layers.digest}`)).fetched).toBe(0);
    expect(blobGets((await reg.settle()).slice(m))).toEqual([]);
    expect((await store.getImage(images.layers.ref))?.manifest).toBe(images.layers.digest);
  });

  it('concurrent pulls of images sharing layers fetch each layer once', async () => {
    const store = await ImageStore.open(join(tmp, 'b'));
    const n = (await reg.settle()).length;
    const [a, b] = await Promise.all([pullImage(client, store, images.layers.ref), pullImage(client, store, images.multi.ref)]);
    expect(a.image.layers.map((l) => l.digest)).toEqual(b.image.layers.map((l) => l.digest));
    const gets = blobGets((await reg.settle()).slice(n)).map((r) => r.slice(r.lastIndexOf('/') + 1));
    for (const d of images.layers.layers) expect(gets.filter((g) => g === d)).toHaveLength(1);
  });

  it('pulls zstd layers', async () => {
    const store = await ImageStore.open(join(tmp, 'c'));
    const res = await pullImage(client, store, images.zstd.ref);
    expect(res.image.layers.map((l) => l.mediaType)).toEqual(Array(3).fill('application/vnd.oci.image.layer.v1.tar+zstd'));
    expect(res.image.layers.map((l) => l.digest)).toEqual(images.zstd.layers);
  });

  it('resolves an OCI index and a Docker manifest list for the platform asked for', async () => {
    const store = await ImageStore.open(join(tmp, 'd'));
    for (const img of [images.multi, images.multiDocker]) {
      const amd = await pullImage(client, store, img.ref, { platform: { os: 'linux', architecture: 'amd64' } });
      expect(amd.image.manifest).toBe(img.platforms['linux/amd64']);
      expect(amd.image.repoDigest.endsWith(`@${img.digest}`)).toBe(true); // the index's digest: the imageID
      expect(amd.image.platform).toBe('linux/amd64');
      const config = JSON.parse((await store.read(amd.image.config.digest)).toString()) as { architecture: string; config: { Env: string[] } };
      expect(config.config.Env).toContain('PLATFORM=amd64');
      // Pulled again (a restart with imagePullPolicy Always): the index only, nothing else.
      const n = (await reg.settle()).length;
      const again = await pullImage(client, store, img.ref, { platform: { os: 'linux', architecture: 'amd64' } });
      expect(again.image.manifest).toBe(img.platforms['linux/amd64']);
      expect(again.fetched).toBe(0);
      expect((await reg.settle()).slice(n)).toEqual([`GET /v2/${img.repository}/manifests/${img.tag}`]);
      const arm = await pullImage(client, store, img.ref, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
      expect(arm.image.manifest).toBe(img.platforms['linux/arm64']);
      await expect(pullImage(client, store, img.ref, { platform: { os: 'linux', architecture: 's390x' } }))
        .rejects.toMatchObject({ kind: 'NoMatchingPlatform', message: expect.stringContaining('linux/amd64, linux/arm64') as unknown });
    }
  });

  it('refuses an unknown tag, a digest the registry does not have, and an invalid name', async () => {
    const store = await ImageStore.open(join(tmp, 'e'));
    await expect(pullImage(client, store, `${reg.host}/podvisor-test/layers:nope`)).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(pullImage(client, store, `${reg.host}/podvisor-test/layers@sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(pullImage(client, store, `${reg.host}/Bad/Name`)).rejects.toMatchObject({ kind: 'InvalidImageName' });
    expect(await store.images()).toEqual([]);
  });

  it('a token registry: refused anonymously, pulled with the Docker config\'s credentials through the bearer flow', async () => {
    const ref = images.private?.ref ?? '';
    expect(ref).not.toBe('');
    const store = await ImageStore.open(join(tmp, 'f'));
    await expect(pullImage(client, store, ref)).rejects.toMatchObject({ kind: 'Unauthorized' });
    const wrong = join(tmp, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ auths: { [treg.host]: { auth: Buffer.from('tester:nope').toString('base64') } } }));
    await expect(pullImage(new RegistryClient({ credentials: readDockerConfig(wrong) }), store, ref)).rejects.toMatchObject({ kind: 'Unauthorized', message: expect.stringContaining('tester') as unknown });
    const cfg = join(tmp, 'config.json');
    await writeFile(cfg, JSON.stringify({ auths: { [treg.host]: { auth: Buffer.from('tester:secret').toString('base64') } } }));
    const authed = new RegistryClient({ credentials: readDockerConfig(cfg) });
    const tokensBefore = treg.token?.requests().length ?? 0;
    const res = await pullImage(authed, store, ref);
    expect(res.image.manifest).toBe(images.private?.digest);
    expect(res.fetched).toBe(4);
    // One token per repository and process: cached across the manifest and blob requests.
    expect((treg.token?.requests().length ?? 0) - tokensBefore).toBe(1);
  });

  it('podvisor pull, images and rmi (the built CLI)', async () => {
    const dir = join(tmp, 'cli');
    const env = { ...process.env, NO_COLOR: '1', DOCKER_CONFIG: join(tmp, 'no-docker') };
    const cli = (...args: string[]): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(process.execPath, [CLI, ...args, '--image-dir', dir], { env });
    const pulled = await cli('pull', images.layers.ref);
    expect(pulled.stdout).toMatch(new RegExp(`^Pulled ${images.layers.ref.replace(/[.]/g, '\\.')} \\(.*@${images.layers.digest}\\) in \\d+\\.\\d{3}s: 4 blobs fetched .*Image size: \\d+ bytes\\.\\n$`));
    expect(pulled.stderr).toContain(`layer ${images.layers.layers[0]?.slice(7, 19)}`);
    await cli('pull', images.multi.ref);
    const listed = (await cli('images')).stdout.split('\n');
    expect(listed[0]).toMatch(/^IMAGE\s+TAG\s+DIGEST\s+PLATFORM\s+SIZE\s+PODS$/);
    // No container uses it: no pods.
    expect(listed.some((l) => l.startsWith(`${reg.host}/podvisor-test/layers `) && l.includes(images.layers.digest.slice(7, 19)) && l.endsWith(' <none>'))).toBe(true);
    const blobs = async (): Promise<number> => (await readdir(join(dir, 'blobs', 'sha256'))).length;
    const before = await blobs();
    const removed = await cli('rmi', images.multi.ref);
    expect(removed.stdout).toContain(`Deleted: ${images.multi.ref}`);
    // The index, its manifest and its config go; the layers stay (the other image uses them).
    expect(await blobs()).toBe(before - 3);
    await expect(cli('rmi', images.multi.ref)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no such image') as unknown });
    const failed = cli('pull', `${reg.host}/podvisor-test/none:v1`);
    await expect(failed).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: .*not found/) as unknown });
    const stale = JSON.parse(await readFile(join(dir, 'refs', (await readdir(join(dir, 'refs')))[0] ?? ''), 'utf8')) as { name: string };
    expect(stale.name).toBe(images.layers.ref);
  });
});
