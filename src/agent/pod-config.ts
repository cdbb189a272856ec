/**
 * What a pod reads from outside its manifest: ConfigMaps, Secrets and its own fields (the
 * downward API), as environment variables and as files in volumes, the way the kubelet
 * provides them. The values are resolved by core (`config-refs.ts`, pure); this module holds
 * the ports the composition root fills (where the objects come from, how volume files are
 * written) and writes a pod's volumes: before a container that mounts them starts, and again
 * whenever an object they show changes (the server tells the agent at once: event-driven, no
 * polling) or, for the downward API, the pod's labels or annotations change.
 */
import type { Container, Pod, Volume } from '../api/types.js';
import { volumeFiles, type ConfigLookups, type VolumeFile } from '../core/config-refs.js';
import type { Sandbox } from '../runtime/types.js';

/** Where volume files are written: atomically, as the kubelet's AtomicWriter (`..data` symlink swap). */
export interface VolumeWriter {
  /** Makes `dir` hold exactly `files`; resolves whether anything changed. */
  write(dir: string, files: readonly VolumeFile[]): Promise<{ changed: boolean }>;
}

/** Facts about the node a pod's environment and volumes may show. */
export interface NodeFacts {
  /** `spec.nodeName` when the pod does not name one. */
  nodeName: string;
  /** The node's IPs (`status.hostIP` first). */
  hostIPs: string[];
  /** Allocatable resources (`cpu`, `memory`): `resourceFieldRef` limits default to them. */
  allocatable: Record<string, string>;
}

/** The configuration a pod worker needs: objects, a writer, node facts. */
export interface PodConfig {
  lookups: ConfigLookups;
  writer: VolumeWriter;
  node: NodeFacts;
}

/** No objects at all (`podvisor run` without a server): every reference is missing. */
export const NO_OBJECTS: ConfigLookups = { configMap: () => undefined, secret: () => undefined };

/** Whether a volume's content is written by the agent (ConfigMap, Secret, downward API, projected). */
export function isConfigVolume(v: Volume): boolean {
  return v.configMap !== undefined || v.secret !== undefined || v.downwardAPI !== undefined || v.projected !== undefined;
}

/** The kubelet's plugin directory name of a config volume (`kubernetes.io~configmap`). */
function pluginDir(v: Volume): string {
  if (v.configMap) return 'kubernetes.io~configmap';
  if (v.secret) return 'kubernetes.io~secret';
  if (v.downwardAPI) return 'kubernetes.io~downward-api';
  return 'kubernetes.io~projected';
}

/** Where a config volume's files live in the sandbox (mounted read-only into containers). */
export function configVolumePath(sandbox: Sandbox, v: Volume): string {
  return `${sandbox.dir}/volumes/${pluginDir(v)}/${v.name}`;
}

/** Why a volume could not be set up: the kubelet's `FailedMount` event text. */
export interface MountFailure {
  volume: string;
  message: string;
}

/**
 * The config volumes of one pod: written in one queue (never two writers on one directory), on
 * demand before a start and on every change of what they show.
 */
export class ConfigVolumes {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: PodConfig) {}

  /** The config volumes `c` mounts (all of the pod's with `c` undefined). */
  private volumesOf(pod: Pod, c: Container | undefined): Volume[] {
    const vols = (pod.spec.volumes ?? []).filter(isConfigVolume);
    if (!c) return vols;
    const mounted = new Set((c.volumeMounts ?? []).map((m) => m.name));
    return vols.filter((v) => mounted.has(v.name));
  }

  /**
   * Writes the config volumes `c` mounts (every config volume of the pod when `c` is
   * undefined). Resolves the first volume that cannot be set up (a missing ConfigMap or Secret
   * that is not optional, a missing key), or undefined when all are written.
   */
  write(pod: Pod, sandbox: Sandbox, c?: Container): Promise<MountFailure | undefined> {
    const run = async (): Promise<MountFailure | undefined> => {
      const ctx = { ...this.config.lookups, nodeAllocatable: this.config.node.allocatable };
      for (const v of this.volumesOf(pod, c)) {
        const r = volumeFiles(pod, v, ctx);
        if (!r) continue;
        if ('error' in r) return { volume: v.name, message: r.error.message };
        await this.config.writer.write(configVolumePath(sandbox, v), r.files);
      }
      return undefined;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Whether the pod has config volumes at all (nothing to refresh otherwise). */
  has(pod: Pod): boolean {
    return this.volumesOf(pod, undefined).length > 0;
  }
}

/** The keys of the Docker config in the two Secret types the kubelet reads for image pulls. */
const PULL_SECRET_KEYS: Record<string, string> = {
  'kubernetes.io/dockerconfigjson': '.dockerconfigjson',
  'kubernetes.io/dockercfg': '.dockercfg',
};

/**
 * The pod's `imagePullSecrets` as Docker config texts, in order, and the names of those that
 * could not be read (missing, or not of a Docker config type), for the kubelet's
 * `FailedToRetrieveImagePullSecret` warning. The pull goes on without them.
 */
export function imagePullSecrets(pod: Pod, lookups: ConfigLookups): { texts: string[]; missing: string[] } {
  const refs = (pod.spec as { imagePullSecrets?: { name?: string }[] }).imagePullSecrets ?? [];
  const texts: string[] = [];
  const missing: string[] = [];
  for (const ref of refs) {
    const name = ref.name ?? '';
    const secret = name === '' ? undefined : lookups.secret(pod.metadata.namespace ?? 'default', name);
    const key = PULL_SECRET_KEYS[secret?.type ?? ''];
    const data = key === undefined ? undefined : secret?.data?.[key];
    if (data === undefined) {
      missing.push(name);
      continue;
    }
    texts.push(new TextDecoder().decode(Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0))));
  }
  return { texts, missing };
}
