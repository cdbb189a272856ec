/**
 * The OCI runtime config of an instance: capabilities as containerd's CRI plugin computes them
 * from a security context, namespaces joined by path, limits, masked paths.
 */
import { describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, effectiveCapabilities, ociSpec, type OciSpecInput } from '../../src/core/oci-spec.js';

const sec = (add: string[] = [], drop: string[] = [], privileged = false): { privileged: boolean; add: string[]; drop: string[] } => ({ privileged, add, drop });

describe('capabilities', () => {
  const rows: [string, ReturnType<typeof sec>, (caps: string[]) => void][] = [
    ['the defaults', sec(), (c) => expect(new Set(c)).toEqual(new Set(DEFAULT_CAPABILITIES))],
    ['drop ALL', sec([], ['ALL']), (c) => expect(c).toEqual([])],
    ['drop ALL, add one back (lower case too)', sec(['net_bind_service'], ['ALL']), (c) => expect(c).toEqual(['CAP_NET_BIND_SERVICE'])],
    ['add ALL, drop one', sec(['ALL'], ['CHOWN']), (c) => expect(c).toEqual(ALL_CAPABILITIES.filter((x) => x !== 'CAP_CHOWN'))],
    ['added and dropped: dropped', sec(['SYS_ADMIN'], ['SYS_ADMIN']), (c) => expect(c).not.toContain('CAP_SYS_ADMIN')],
    ['add one', sec(['NET_ADMIN']), (c) => expect(c).toContain('CAP_NET_ADMIN')],
    ['drop NET_RAW', sec([], ['NET_RAW']), (c) => expect(c).not.toContain('CAP_NET_RAW')],
    ['privileged: all, whatever the lists say', sec([], ['ALL'], true), (c) => expect(c).toEqual([...ALL_CAPABILITIES])],
  ];
  for (const [name, s, check] of rows) it(name, () => check(effectiveCapabilities(s)));
});

describe('config.json', () => {
  const input = (extra: Partial<OciSpecInput> = {}): OciSpecInput => ({
    process: { args: ['/bin/sh'], env: ['PATH=/bin'], cwd: '/data', uid: 1000, gid: 100, additionalGids: [5] },
    rootfs: '/r/merged', readonlyRootfs: true,
    namespaces: { network: '/proc/7/ns/net', ipc: '/proc/7/ns/ipc', uts: '/proc/7/ns/uts' },
    mounts: [{ destination: '/cache', source: '/v/cache', readOnly: false }, { destination: '/etc/hosts', source: '/p/hosts', readOnly: true }],
    security: { privileged: false, add: [], drop: [] },
    resources: { memoryLimitBytes: 64 << 20, cpuMillis: 500 },
    devices: [{ path: '/dev/nvidia0', type: 'c', major: 195, minor: 0, fileMode: 0o666 }],
    cgroupsPath: '/podvisor-oci/pod/ctr',
    ...extra,
  });
  it('joins the sandbox\'s namespaces by path, has its own mount, cgroup and pid namespaces, and no hostname of its own', () => {
    const s = ociSpec(input()) as { linux: { namespaces: unknown[] }; hostname?: string; root: unknown };
    expect(s.linux.namespaces).toEqual([
      { type: 'network', path: '/proc/7/ns/net' }, { type: 'ipc', path: '/proc/7/ns/ipc' }, { type: 'uts', path: '/proc/7/ns/uts' },
      { type: 'pid' }, { type: 'mount' }, { type: 'cgroup' },
    ]);
    expect(s.hostname).toBeUndefined();
    expect(s.root).toEqual({ path: '/r/merged', readonly: true });
    const shared = ociSpec(input({ namespaces: { network: 'n', ipc: 'i', uts: 'u', pid: '/proc/7/ns/pid' } })) as { linux: { namespaces: { type: string; path?: string }[] } };
    expect(shared.linux.namespaces.find((n) => n.type === 'pid')).toEqual({ type: 'pid', path: '/proc/7/ns/pid' });
  });

  it('limits as the kubelet computes them; devices denied but the container\'s', () => {
    const s = ociSpec(input()) as { linux: { resources: Record<string, unknown>; devices: unknown[] } };
    expect(s.linux.resources.memory).toEqual({ limit: 64 << 20 });
    expect(s.linux.resources.cpu).toEqual({ quota: 50_000, period: 100_000 });
    expect(s.linux.resources.devices).toEqual([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 195, minor: 0, access: 'rwm' }]);
    expect(s.linux.devices).toEqual([{ path: '/dev/nvidia0', type: 'c', major: 195, minor: 0, fileMode: 0o666, uid: 0, gid: 0 }]);
    const tiny = ociSpec(input({ resources: { cpuMillis: 1 } })) as { linux: { resources: { cpu: unknown } } };
    expect(tiny.linux.resources.cpu).toEqual({ quota: 1_000, period: 100_000 });
  });

  it('mounts: the defaults (no /run), the sandbox\'s /dev/shm when given, then the volumes', () => {
    const dests = (s: unknown): string[] => (s as { mounts: { destination: string }[] }).mounts.map((m) => m.destination);
    expect(dests(ociSpec(input()))).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/cache', '/etc/hosts']);
    const withShm = ociSpec(input({ shm: '/s/shm' })) as { mounts: { destination: string; source: string; type: string }[] };
    expect(withShm.mounts.find((m) => m.destination === '/dev/shm')).toMatchObject({ type: 'bind', source: '/s/shm' });
    const vols = (ociSpec(input()) as { mounts: { destination: string; options: string[] }[] }).mounts.slice(-2);
    expect(vols.map((m) => m.options)).toEqual([['rbind', 'rprivate', 'rw'], ['rbind', 'rprivate', 'ro']]);
  });

  it('privileged: no masked paths, /sys writable, every device; allowPrivilegeEscalation false is noNewPrivileges', () => {
    const plain = ociSpec(input()) as { linux: Record<string, unknown>; process: { noNewPrivileges: boolean } };
    expect(plain.linux.maskedPaths).toContain('/proc/kcore');
    expect(plain.process.noNewPrivileges).toBe(false);
    const priv = ociSpec(input({ security: { privileged: true, add: [], drop: [] } })) as { linux: Record<string, unknown>; mounts: { destination: string; options: string[] }[] };
    expect(priv.linux.maskedPaths).toBeUndefined();
    expect(priv.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
    expect((priv.linux.resources as { devices: unknown[] }).devices[0]).toEqual({ allow: true, access: 'rwm' });
    const nnp = ociSpec(input({ security: { privileged: false, add: [], drop: [], allowPrivilegeEscalation: false } })) as { process: { noNewPrivileges: boolean } };
    expect(nnp.process.noNewPrivileges).toBe(true);
  });
});
