// The oci runtime gives a GPU container the device nodes of its GPUs and the driver's control
// devices, with their real numbers and modes; what the machine lacks is skipped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpuDevices } from '../../src/runtime/oci/launcher.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root && process.env['CI'] !== 'true')('gpuDevices', () => {
  it('maps indexes and UUIDs to /dev/nvidia<N> plus nvidiactl, with major, minor and mode; skips what is missing', () => {
    const dev = mkdtempSync(join(tmpdir(), 'podvisor-dev-'));
    try {
      execFileSync('mknod', ['-m', '0666', join(dev, 'nvidia0'), 'c', '195', '0']);
      execFileSync('mknod', ['-m', '0660', join(dev, 'nvidia3'), 'c', '195', '3']);
      execFileSync('mknod', ['-m', '0666', join(dev, 'nvidiactl'), 'c', '195', '255']);
      execFileSync('mknod', ['-m', '0666', join(dev, 'nvidia-uvm'), 'c', '509', '300']);
      writeFileSync(join(dev, 'nvidia1'), ''); // not a device
      const devices = gpuDevices(['0', '1', 'GPU-abc', 'GPU-missing'], dev, (u) => (u === 'GPU-abc' ? '3' : undefined));
      expect(devices).toEqual([
        { path: '/dev/nvidia0', type: 'c', major: 195, minor: 0, fileMode: 0o666 },
        { path: '/dev/nvidia3', type: 'c', major: 195, minor: 3, fileMode: 0o660 },
        { path: '/dev/nvidiactl', type: 'c', major: 195, minor: 255, fileMode: 0o666 },
        { path: '/dev/nvidia-uvm', type: 'c', major: 509, minor: 300, fileMode: 0o666 },
      ]);
    } finally {
      rmSync(dev, { recursive: true, force: true });
    }
  });
});
