/**
 * The OCI runtime `config.json` of a container instance (pure), as containerd's CRI plugin
 * builds it for the kubelet: the process (see oci-process.ts) with its resolved IDs; the pod
 * sandbox's network, IPC and UTS namespaces joined by path (the sandbox set the hostname), a mount and a cgroup namespace of its
 * own, the PID namespace of its own or one joined by the path the caller gives (the pod's with
 * `shareProcessNamespace`, an ephemeral container's target's: CRI `NamespaceMode.TARGET`);
 * containerd's default mounts without `/run`
 * (as CRI drops it), `/dev/shm` from the sandbox when it has one, then the volumes and the files
 * the kubelet writes (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`); containerd's default
 * capabilities with the security context's `add`/`drop` (`ALL` first, then each name; a name
 * both added and dropped is dropped); `privileged`; `readOnlyRootFilesystem`;
 * `allowPrivilegeEscalation: false` as `noNewPrivileges`; containerd's masked and read-only
 * paths; memory and CPU limits, device rules (all denied, then the runtime's defaults and the
 * container's devices, e.g. GPUs).
 */
import type { OciSpecInput }  from '../api/oci.js';

export type { OciHook, OciSpecInput, SpecDevice, SpecMount } from '../api/oci.js';

/** containerd's default capabilities of a container. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Every capability Linux knows (0 to 40), in number order. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
/** The kubelet's CPU period (100 ms) and the smallest quota it sets. */
const CPU_PERIOD = 100_000;
const MIN_QUOTA = 1_000;

function capName(c: string): string {
  return `CAP_${c.toUpperCase()}`;
}

/** The capabilities of a container (see the module comment); sorted by number. */
export function effectiveCapabilities(sec: { privileged: boolean; add: readonly string[]; drop: readonly string[] }): string[] {
  if (sec.privileged) return [...ALL_CAPABILITIES];
  const caps = new Set<string>(DEFAULT_CAPABILITIES);
  if (sec.add.some((c) => c.toUpperCase() === 'ALL')) for (const c of ALL_CAPABILITIES) caps.add(c);
  if (sec.drop.some((c) => c.toUpperCase() === 'ALL')) caps.clear();
  for (const c of sec.add) if (c.toUpperCase() !== 'ALL') caps.add(capName(c));
  for (const c of sec.drop) if (c.toUpperCase() !== 'ALL') caps.delete(capName(c));
  const order = new Map<string, number>(ALL_CAPABILITIES.map((c, i) => [c, i]));
  return [...caps].sort((a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99) || a.localeCompare(b));
}

interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

function defaultMounts(sysReadOnly: boolean, shm: string | undefined): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    shm !== undefined
      ? { destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rw'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', sysReadOnly ? 'ro' : 'rw'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', sysReadOnly ? 'ro' : 'rw'] },
  ];
}

/** The `config.json` object (OCI runtime spec 1.0.2) of an instance. */
export function ociSpec(input: OciSpecInput): Record<string, unknown> {
  const caps = effectiveCapabilities(input.security);
  const privileged = input.security.privileged;
  const mounts = defaultMounts(!privileged, input.shm);
  for (const m of input.mounts) {
    mounts.push({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] });
  }
  const namespaces: { type: string; path?: string }[] = [
    { type: 'network', path: input.namespaces.network },
    { type: 'ipc', path: input.namespaces.ipc },
    { type: 'uts', path: input.namespaces.uts },
    input.namespaces.pid !== undefined ? { type: 'pid', path: input.namespaces.pid } : { type: 'pid' },
    { type: 'mount' },
    { type: 'cgroup' },
  ];
  const resources: Record<string, unknown> = {
    devices: [
      privileged ? { allow: true, access: 'rwm' } : { allow: false, access: 'rwm' },
      ...input.devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' })),
    ],
  };
  if (input.resources.memoryLimitBytes !== undefined) resources.memory = { limit: input.resources.memoryLimitBytes };
  if (input.resources.cpuMillis !== undefined) {
    resources.cpu = { quota: Math.max(MIN_QUOTA, Math.floor((input.resources.cpuMillis * CPU_PERIOD) / 1000)), period: CPU_PERIOD };
  }
  const linux: Record<string, unknown> = {
    namespaces,
    resources,
    cgroupsPath: input.cgroupsPath,
    devices: input.devices.map((d) => ({ path: d.path, type: d.type, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: 0, gid: 0 })),
  };
  if (!privileged) {
    linux.maskedPaths = MASKED_PATHS;
    linux.readonlyPaths = READONLY_PATHS;
  }
  const process: Record<string, unknown> = {
    terminal: input.process.terminal ?? false,
    user: { uid: input.process.uid, gid: input.process.gid, additionalGids: [...input.process.additionalGids] },
    args: [...input.process.args],
    env: [...input.process.env],
    cwd: input.process.cwd,
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: input.security.allowPrivilegeEscalation === false,
  };
  if (input.oomScoreAdj !== undefined) process.oomScoreAdj = input.oomScoreAdj;
  const spec: Record<string, unknown> = {
    ociVersion: '1.0.2',
    process,
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    mounts,
    annotations: { ...(input.annotations ?? {}) },
    linux,
  };
  if (input.poststart !== undefined && input.poststart.length > 0) spec.hooks = { poststart: input.poststart.map((h) => ({ path: h.path, args: [...h.args] })) };
  return spec;
}
