/**
 * Unpacking pulled layers with GNU tar into overlayfs's format, and an instance's root file
 * system as an overlay of them: whiteouts, opaque directories, hard links and absolute symlinks
 * as the image says, for gzip and zstd layers; writes land in the instance's own layer.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CREDENTIALS } from '../../src/runtime/oci/credentials.js';
import { pullImage } from '../../src/runtime/oci/pull.js';
import { RegistryClient } from '../../src/runtime/oci/registry.js';
import { isMountPoint, mountRootfs, removeRootfs } from '../../src/runtime/oci/rootfs.js';
import { ImageStore } from '../../src/runtime/oci/store.js';
import { LayerStore } from '../../src/runtime/oci/unpack.js';
import { buildImages, fixtureProblem, LAYERS_IMAGE, startRegistry, type BuiltImages, type TestRegistry } from './registry-fixture.js';

const root = process.getuid?.() === 0;
const problem = fixtureProblem() ?? (root ? undefined : 'overlay mounts need root');
const skip = problem !== undefined && process.env.CI !== 'true';

describe.skipIf(skip)('layers and root file systems', () => {
  let reg: TestRegistry;
  let images: BuiltImages;
  let tmp: string;
  let store: ImageStore;
  let layers: LayerStore;
  const mounted: string[] = [];

  beforeAll(async () => {
    if (problem !== undefined) throw new Error(problem);
    tmp = await mkdtemp(join(tmpdir(), 'podvisor-unpack-'));
    reg = await startRegistry();
    images = await buildImages(reg);
    store = await ImageStore.open(join(tmp, 'images'));
    layers = new LayerStore(store);
  }, 120_000);
  afterAll(async () => {
    for (const d of mounted) await removeRootfs(d).catch(() => undefined);
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const which of ['layers', 'zstd'] as const) {
    it(`${which}: the merged tree is the image's (whiteouts, opaque dir, hard link, absolute symlinks)`, async () => {
      const img = images[which];
      const pulled = await pullImage(new RegistryClient({ credentials: NO_CREDENTIALS }), store, img.ref);
      const dirs = await Promise.all(pulled.image.layers.map((l) => layers.unpack(l)));
      // overlayfs's own whiteout format in the layer itself.
      const wh = lstatSync(join(dirs[1] ?? '', 'data', 'gone'));
      expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
      const opaque = await promisify(execFile)('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(dirs[1] ?? '', 'opq')]);
      expect(opaque.stdout).toBe('y');

      const dir = join(tmp, `instance-${which}`);
      const fs = await mountRootfs(dirs, dir);
      mounted.push(dir);
      expect(await isMountPoint(fs.merged)).toBe(true);
      for (const [p, content] of Object.entries(LAYERS_IMAGE.merged.files)) expect(readFileSync(join(fs.merged, p), 'utf8')).toBe(content);
      for (const p of LAYERS_IMAGE.merged.absent) expect(existsSync(join(fs.merged, p))).toBe(false);
      expect(readdirSync(join(fs.merged, 'opq'))).toEqual(['new']);
      for (const [p, target] of Object.entries(LAYERS_IMAGE.merged.symlinks)) expect(readlinkSync(join(fs.merged, p))).toBe(target);
      for (const [a, b] of LAYERS_IMAGE.merged.hardLinks) expect(statSync(join(fs.merged, a)).ino).toBe(statSync(join(fs.merged, b)).ino);
      expect(readFileSync(join(fs.merged, 'bin', 'busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);
      expect(statSync(join(fs.merged, 'bin', 'busybox')).mode & 0o111).not.toBe(0);
      // Absolute symlinks resolve inside the container's root, not the host's.
      const inside = await promisify(execFile)('chroot', [fs.merged, '/bin/busybox', 'sh', '-c', 'cat /abs; ls /lib/']);
      expect(inside.stdout).toBe('layer3\nmarker\n');

      // The instance writes to its own layer; the image stays as it was.
      writeFileSync(join(fs.merged, 'etc', 'motd'), 'changed\n');
      expect(readFileSync(join(fs.upper, 'etc', 'motd'), 'utf8')).toBe('changed\n');
      expect(readFileSync(join(dirs[2] ?? '', 'etc', 'motd'), 'utf8')).toBe('layer3\n');
      const again = await mountRootfs(dirs, join(tmp, `instance-${which}-2`));
      mounted.push(join(tmp, `instance-${which}-2`));
      expect(readFileSync(join(again.merged, 'etc', 'motd'), 'utf8')).toBe('layer3\n');
      await removeRootfs(dir);
      expect(await isMountPoint(fs.merged)).toBe(false);
      expect(existsSync(dir)).toBe(false);
    });
  }

  it('a single layer mounts too', async () => {
    const pulled = await pullImage(new RegistryClient({ credentials: NO_CREDENTIALS }), store, images.layers.ref);
    const first = await layers.unpack(pulled.image.layers[0] ?? { mediaType: '', digest: '', size: 0 });
    const dir = join(tmp, 'single');
    const fs = await mountRootfs([first], dir);
    mounted.push(dir);
    expect(readFileSync(join(fs.merged, 'etc', 'motd'), 'utf8')).toBe('layer1\n');
    expect(existsSync(join(fs.merged, 'data', 'gone'))).toBe(true);
  });

  it('unpacks a layer once, also when asked concurrently', async () => {
    const fresh = await ImageStore.open(join(tmp, 'images-2'));
    const pulled = await pullImage(new RegistryClient({ credentials: NO_CREDENTIALS }), fresh, images.layers.ref);
    // GNU tar, counted: a wrapper that notes each run.
    const count = join(tmp, 'tar-runs');
    const tar = join(tmp, 'counting-tar');
    writeFileSync(tar, `#!/bin/sh\necho run >> ${count}\nexec tar "$@"\n`, { mode: 0o755 });
    const ls = new LayerStore(fresh, { tar, setfattr: 'setfattr', mknod: 'mknod' });
    const l = pulled.image.layers[1];
    if (!l) throw new Error('no layer');
    const [a, b] = await Promise.all([ls.unpack(l), ls.unpack(l)]);
    expect(a).toBe(b);
    expect(await ls.unpack(l)).toBe(a);
    expect(readFileSync(count, 'utf8')).toBe('run\n');
    expect(readdirSync(join(fresh.root, 'layers', 'tmp'))).toEqual([]);
  });
});
