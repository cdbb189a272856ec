/**
 * The oci runtime tests' image fixture: a registry on loopback with the busybox image, started
 * before the suite that calls {@link useOciImage} and stopped after it, and an image directory
 * of its own for the runtimes the suite creates.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { buildBusybox, startRegistry, type TestRegistry } from '../oci/registry-fixture.js';
import { makeTempDir } from './helpers.js';

/** What a suite reads once its `beforeAll` ran: the busybox reference and the image directory. */
export interface OciImage {
  image: string;
  imageDir: string;
}

/**
 * Registers the suite's `beforeAll` (fails when the oci runtime cannot run: `problem`) and
 * `afterAll`; the returned object is filled in by the `beforeAll`.
 */
export function useOciImage(prefix: string, problem: () => string | undefined): OciImage {
  const fixture: OciImage = { image: '', imageDir: '' };
  let registry: TestRegistry | undefined;
  let images: { dir: string; remove: () => void } | undefined;
  beforeAll(async () => {
    expect(problem()).toBeUndefined();
    images = makeTempDir(prefix);
    fixture.imageDir = images.dir;
    registry = await startRegistry();
    fixture.image = await buildBusybox(registry);
  });
  afterAll(async () => {
    await registry?.stop();
    images?.remove();
  });
  return fixture;
}
