/**
 * What the runtime needs to start one container, built from the pod (pure): argv, the
 * environment podvisor adds, resource limits and the volume mounts resolved against the sandbox.
 */
import type { Container, Pod } from '../api/types.js';
import { parseQuantity } from '../api/quantity.js';
import { resolveContainerEnv } from '../core/config-refs.js';
import { containerProcess } from '../core/oci-process.js';
import type { ContainerResources, ContainerSecurity, ContainerStartSpec, MountSpec, PulledImage, Sandbox } from '../runtime/types.js';
import { configVolumePath, isConfigVolume, NO_OBJECTS, type PodConfig } from './pod-config.js';

/** Every container of the pod: init containers and sidecars, regular, ephemeral. */
export function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers, ...(pod.spec.ephemeralContainers ?? [])];
}

/**
 * The mounts of a container: `volumeMounts` resolved against the sandbox (emptyDir, and the
 * ConfigMap, Secret, downward API and projected volumes the agent writes, always read-only as
 * the kubelet mounts them) or the host (hostPath).
 */
export function mountsFor(pod: Pod, c: Container, sandbox: Sandbox | undefined): MountSpec[] {
  const out: MountSpec[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = (pod.spec.volumes ?? []).find((x) => x.name === m.name);
    if (!v) continue;
    let hostPath: string | undefined;
    let readOnly = m.readOnly === true;
    if (v.emptyDir) hostPath = sandbox?.emptyDirPaths[v.name];
    else if (v.hostPath) hostPath = v.hostPath.path;
    else if (sandbox && isConfigVolume(v)) {
      hostPath = configVolumePath(sandbox, v);
      readOnly = true;
    }
    if (hostPath === undefined) continue;
    const spec: MountSpec = { volume: v.name, hostPath, mountPath: m.mountPath, readOnly };
    if (m.subPath) {
      spec.hostPath = `${hostPath}/${m.subPath}`;
      spec.subPath = { volumeRoot: hostPath, path: m.subPath };
    }
    out.push(spec);
  }
  return out;
}

/** The counts and devices a new instance sees. */
export interface InstanceContext {
  /** The container's restartCount (`PODVISOR_RESTART_COUNT`). */
  restartCount: number;
  /** In-place pod restarts so far (`PODVISOR_POD_RESTART_COUNT`). */
  podRestartCount: number;
  /** The pod's GPU device IDs (kept across restarts in place, §1.4). */
  gpus: readonly string[];
  /** ConfigMaps, Secrets and node facts for `env[].valueFrom` and `envFrom` (none: every reference is missing). */
  config?: PodConfig;
  /**
   * The runtime container ID of a container's running instance, or undefined when it has none
   * running (the worker's `runningInstance`): an ephemeral container's target is looked up
   * with it. Absent: no container of the pod runs.
   */
  runningInstance?: (container: string) => string | undefined;
}

/** The `targetContainerName` of an ephemeral container of the pod (`kubectl debug --target`); undefined for any other container. */
export function targetContainerOf(pod: Pod, c: Container): string | undefined {
  const target = (pod.spec.ephemeralContainers ?? []).find((e) => e.name === c.name)?.targetContainerName;
  return target === undefined || target === '' ? undefined : target;
}

/** The node facts a pod sees when no server tells the agent its node's (`podvisor run`). */
const LOCAL_NODE = { nodeName: 'podvisor', hostIPs: ['127.0.0.1'], allocatable: {} };

/** `resources.limits` of memory and CPU as the runtime applies them. */
function resourcesOf(c: Container): ContainerResources {
  const resources: ContainerResources = {};
  const mem = c.resources?.limits?.['memory'];
  const cpu = c.resources?.limits?.['cpu'];
  if (mem !== undefined) {
    const q = parseQuantity(mem);
    if (q.ok) resources.memoryLimitBytes = Math.ceil(q.value);
  }
  if (cpu !== undefined) {
    const q = parseQuantity(cpu);
    if (q.ok) resources.cpuMillis = Math.ceil(q.value * 1000);
  }
  return resources;
}

/**
 * The security settings the `oci` runtime applies: the container's `securityContext`, and the
 * pod's `supplementalGroups` with its `fsGroup` (which the kubelet adds as a supplemental group).
 */
export function containerSecurity(pod: Pod, c: Container): ContainerSecurity {
  const sc = c.securityContext ?? {};
  const psc = pod.spec.securityContext ?? {};
  const sec: ContainerSecurity = {
    privileged: sc.privileged === true,
    add: [...(sc.capabilities?.add ?? [])],
    drop: [...(sc.capabilities?.drop ?? [])],
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    supplementalGroups: [...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])],
  };
  if (sc.allowPrivilegeEscalation !== undefined) sec.allowPrivilegeEscalation = sc.allowPrivilegeEscalation;
  return sec;
}

/**
 * The start spec of one instance of `c`, or a configuration error (`CreateContainerConfigError`)
 * when it cannot be started as configured. With `image` (runtimes that run images) the process
 * is the image's config combined with the container as Kubernetes does (core `containerProcess`,
 * which also refuses `runAsNonRoot` with a root image); without, it is the container's
 * `command` and `args`, which must be set.
 *
 * An ephemeral container with a `targetContainerName` gets the target's running instance as
 * {@link ContainerStartSpec.targetPidOf} (it joins the target's PID namespace). When the target
 * has no running instance it is not started: a configuration error with the kubelet's message
 * (`unable to find target container X`, `CreateContainerConfigError`), as the kubelet's
 * `startContainer` fails it when it finds no target for the CRI's `target_id`, rather than
 * starting it in a PID namespace of its own, where `ps` would silently show none of the
 * processes the user asked to debug. (The kubelet tries such a container again at later syncs;
 * podvisor starts an ephemeral container once, X4.)
 */
export function containerStartSpec(pod: Pod, c: Container, sandbox: Sandbox, ctx: InstanceContext, image?: PulledImage): { spec: ContainerStartSpec } | { configError: string } {
  // The kubelet resolves the target first (after the image pull), before the container's config.
  const target = targetContainerOf(pod, c);
  const targetPidOf = target !== undefined ? ctx.runningInstance?.(target) : undefined;
  if (target !== undefined && targetPidOf === undefined) return { configError: `unable to find target container ${target}` };
  let argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (argv.length === 0 && !image) return { configError: `container ${c.name} has no command: the host runtime runs no image entrypoint; set command` };
  const env: Record<string, string> = {
    HOSTNAME: pod.metadata.name ?? '',
    PODVISOR_RESTART_COUNT: String(ctx.restartCount),
    PODVISOR_POD_RESTART_COUNT: String(ctx.podRestartCount),
  };
  if (ctx.gpus.length > 0) {
    env['NVIDIA_VISIBLE_DEVICES'] = ctx.gpus.join(',');
    env['CUDA_VISIBLE_DEVICES'] = ctx.gpus.join(',');
  }
  // The container's own variables, as the kubelet resolves them (envFrom, then env, `$(VAR)`
  // expanded); a reference that cannot be resolved keeps the container from being created.
  const node = ctx.config?.node ?? LOCAL_NODE;
  const podIP = sandbox.ip ?? '127.0.0.1';
  const resolved = resolveContainerEnv(pod, c, {
    ...(ctx.config?.lookups ?? NO_OBJECTS),
    nodeAllocatable: node.allocatable,
    podIPs: [podIP],
    hostIPs: node.hostIPs,
    nodeName: pod.spec.nodeName ?? node.nodeName,
    serviceAccountName: pod.spec.serviceAccountName ?? 'default',
  });
  if ('error' in resolved) return { configError: resolved.error.message };
  for (const e of resolved.env) env[e.name] = e.value;
  let imageSpec: ContainerStartSpec['image'];
  if (image) {
    const process = containerProcess(pod, c, image.config, env, { pod: pod.spec.securityContext, container: c.securityContext });
    if ('configError' in process) return { configError: process.configError };
    argv = process.args;
    imageSpec = { image, process, security: containerSecurity(pod, c) };
  }
  const spec: ContainerStartSpec = {
    sandbox, podName: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? 'default',
    name: c.name, attempt: ctx.restartCount, argv, env, mounts: mountsFor(pod, c, sandbox), resources: resourcesOf(c),
  };
  if (c.workingDir !== undefined) spec.workingDir = c.workingDir;
  if (imageSpec) spec.image = imageSpec;
  if (ctx.gpus.length > 0) spec.gpus = [...ctx.gpus];
  if (targetPidOf !== undefined) spec.targetPidOf = targetPidOf;
  if (c.stdin === true || c.tty === true) spec.stdio = { stdin: c.stdin === true, stdinOnce: c.stdin === true && c.stdinOnce === true, tty: c.tty === true };
  if (c.terminationMessagePath !== undefined && c.terminationMessagePath !== '') {
    spec.terminationMessage = { path: c.terminationMessagePath, policy: c.terminationMessagePolicy === 'FallbackToLogsOnError' ? 'FallbackToLogsOnError' : 'File' };
  }
  return { spec };
}
