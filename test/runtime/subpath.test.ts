// subPath mounts never leave their volume (CVE-2017-1002101): a symlink a container planted is
// resolved on the host and refused when it points outside; inside, the real path is mounted.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { confineSubPaths } from '../../src/runtime/proc-util.js';
import { StartError, type MountSpec } from '../../src/runtime/types.js';

const vol = mkdtempSync(join(tmpdir(), 'podvisor-subpath-'));
mkdirSync(join(vol, 'ok', 'deep'), { recursive: true });
symlinkSync('/', join(vol, 'escape'));
symlinkSync('../..', join(vol, 'ok', 'up'));
symlinkSync('ok/deep', join(vol, 'inner'));
afterAll(() => rmSync(vol, { recursive: true, force: true }));

const mount = (path: string): MountSpec => ({ volume: 'data', hostPath: join(vol, path), mountPath: '/m', readOnly: false, subPath: { volumeRoot: vol, path } });

describe('confineSubPaths', () => {
  it('mounts the real path of a subPath inside the volume', () => {
    expect(confineSubPaths('c', [mount('inner')])[0]?.hostPath).toBe(join(vol, 'ok', 'deep'));
    expect(confineSubPaths('c', [mount('ok/deep')])[0]?.hostPath).toBe(join(vol, 'ok', 'deep'));
  });

  it('refuses a subPath that leaves the volume through a symlink, with the kubelet\'s reason', () => {
    for (const p of ['escape', 'escape/etc', 'ok/up', 'ok/up/x/y', '../outside']) {
      let err: unknown;
      try {
        confineSubPaths('victim', [mount(p)]);
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(StartError);
      expect((err as StartError).reason).toBe('CreateContainerConfigError');
      expect((err as StartError).message).toBe(`failed to prepare subPath for volumeMount "data" of container "victim": the subPath ${JSON.stringify(p)} leaves the volume`);
    }
  });

  it('keeps a missing subPath inside the volume as it is, and mounts without a subPath untouched', () => {
    expect(confineSubPaths('c', [mount('ok/new/dir')])[0]?.hostPath).toBe(join(vol, 'ok', 'new', 'dir'));
    const plain: MountSpec = { volume: 'v', hostPath: '/anywhere', mountPath: '/m', readOnly: true };
    expect(confineSubPaths('c', [plain])[0]).toBe(plain);
  });
});
