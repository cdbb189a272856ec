/**
 * Image users and garbage collection: images in use are listed with their pods and never
 * collected; above the high threshold unused images go least recently used first until the
 * disk is below the low one; blobs and unpacked layers no image needs go with them, shared
 * layers stay; a user record whose bundle vanished holds nothing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CREDENTIALS } from '../../src/runtime/oci/credentials.js';
import { addImageUser, collectImages, imageUsers } from '../../src/runtime/oci/image-gc.js';
import { OciImages } from '../../src/runtime/oci/images.js';
import { RegistryClient } from '../../src/runtime/oci/registry.js';
import { ImageStore } from '../../src/runtime/oci/store.js';
import { LayerStore } from '../../src/runtime/oci/unpack.js';
import { buildBusybox, buildImages, fixtureProblem, startRegistry, type BuiltImages, type TestRegistry } from './registry-fixture.js';

const root = process.getuid?.() === 0;
const problem = fixtureProblem() ?? (root ? undefined : 'unpacking layers with their owners needs root');
const skip = problem !== undefined && process.env.CI !== 'true';

describe.skipIf(skip)('image users and garbage collection', () => {
  let reg: TestRegistry;
  let built: BuiltImages;
  let busybox: string;
  let tmp: string;

  beforeAll(async () => {
    if (problem !== undefined) throw new Error(problem);
    tmp = await mkdtemp(join(tmpdir(), 'podvisor-gc-'));
    reg = await startRegistry();
    built = await buildImages(reg);
    busybox = await buildBusybox(reg);
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** A store with the layers, zstd, multi and busybox images pulled in that order, busybox in use by a live bundle. */
  async function filled(name: string): Promise<{ store: ImageStore; layers: LayerStore; names: Record<string, string> }> {
    const store = await ImageStore.open(join(tmp, name));
    const layers = new LayerStore(store);
    const images = new OciImages({ store, layers, client: new RegistryClient({ credentials: NO_CREDENTIALS }) });
    const names: Record<string, string> = {};
    for (const [k, ref] of [['layers', built.layers.ref], ['zstd', built.zstd.ref], ['multi', built.multi.ref], ['busybox', busybox]] as const) {
      const n = images.normalise(ref);
      if ('error' in n) throw new Error(n.error);
      names[k] = n.name;
      const pulled = await images.pull(n.name);
      if (k === 'busybox') {
        const bundle = join(tmp, name, 'bundle-live');
        mkdirSync(bundle, { recursive: true });
        addImageUser(store, n.name, { id: 'a'.repeat(32), namespace: 'default', pod: 'web', container: 'c', bundle, layers: pulled.image.layers });
      }
      await new Promise((r) => setTimeout(r, 5)); // distinct pull times
    }
    return { store, layers, names };
  }

  it('lists the users of an image and forgets a user whose bundle is gone', async () => {
    const { store, names } = await filled('users');
    const bb = names['busybox'] ?? '';
    addImageUser(store, bb, { id: 'b'.repeat(32), namespace: 'default', pod: 'gone', container: 'c', bundle: join(tmp, 'users', 'no-such-bundle'), layers: [] });
    const users = await imageUsers(store);
    expect([...users.keys()]).toEqual([bb]);
    expect(users.get(bb)?.map((u) => u.pod)).toEqual(['web']);
  });

  it('above the high threshold removes unused images least recently used first, until below the low threshold', async () => {
    const { store, layers, names } = await filled('lru');
    // 15 % per image: 4 images = 90 % (above 85); one removal makes 75 % (below 80).
    const used = async (): Promise<number> => 30 + 15 * (await store.images()).length;
    const r = await collectImages(store, layers, { highPercent: 85, lowPercent: 80 }, used);
    expect(r.removedImages).toEqual([names['layers']]);
    expect((await store.images()).map((i) => i.name).sort()).toEqual([names['busybox'], names['multi'], names['zstd']].sort());
    // The layers image's layers are the multi image's too: they stay.
    for (const l of built.layers.layers) expect(layers.has(l)).toBe(true);
    // Its manifest went (its config is the zstd image's too, so it stays).
    expect(store.has(built.layers.digest)).toBe(false);
    expect(store.has(built.layers.config)).toBe(true);
  });

  it('never removes an image in use, and takes the blobs and layers only removed images needed', async () => {
    const { store, layers, names } = await filled('full');
    const busyboxLayers = (await store.getImage(names['busybox'] ?? ''))?.layers.map((l) => l.digest) ?? [];
    const r = await collectImages(store, layers, { highPercent: 85, lowPercent: 80 }, async () => 99);
    expect(r.removedImages.sort()).toEqual([names['layers'], names['multi'], names['zstd']].sort());
    expect((await store.images()).map((i) => i.name)).toEqual([names['busybox']]);
    for (const l of [...built.layers.layers, ...built.zstd.layers]) {
      expect(layers.has(l), l).toBe(false);
      expect(store.has(l), l).toBe(false);
    }
    for (const l of busyboxLayers) expect(layers.has(l)).toBe(true);
    expect(r.removedLayers).toBeGreaterThanOrEqual(6);
    expect(existsSync(join(tmp, 'full', 'layers', 'sha256'))).toBe(true);
  });

  it('never removes an image used within the minimum age (a start looked it up, or it was just pulled)', async () => {
    const { store, layers } = await filled('young');
    const r = await collectImages(store, layers, { highPercent: 85, lowPercent: 80, minAgeMs: 60_000 }, async () => 99);
    expect(r.removedImages).toEqual([]);
    expect(await store.images()).toHaveLength(4);
  });

  it('below the high threshold removes no image', async () => {
    const { store, layers } = await filled('calm');
    const r = await collectImages(store, layers, { highPercent: 85, lowPercent: 80 }, async () => 50);
    expect(r.removedImages).toEqual([]);
    expect(await store.images()).toHaveLength(4);
  });
});
