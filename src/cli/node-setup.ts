/**
 * Node setup shared by `run` and `serve`: the runtime chosen with `--runtime`, and the GPU
 * inventory (`--gpus`, else `nvidia-smi -L` when present).
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { PodConfig } from '../agent/pod-config.js';
import type { ConfigLookups } from '../core/config-refs.js';
import { writeAtomicVolume } from '../runtime/atomic-writer.js';
import { HostRuntime } from '../runtime/host.js';
import type { ImageFlags } from './images.js';
import type { MonitorChoice } from '../runtime/monitor/index.js';
import type { ContainerRuntime } from '../runtime/types.js';

/** Monitors `--monitor` accepts. */
export const MONITORS = ['auto', 'conmon', 'direct'] as const;

/** Runtimes `--runtime` accepts. */
export const RUNTIMES = ['host', 'sandbox', 'oci'] as const;

/** What {@link createRuntime} is given. */
export interface RuntimeChoice {
  /** `--runtime`. */
  name: string;
  dataDir: string;
  /** `--monitor`. */
  monitor: string;
  /** The image flags (`--image-dir`, `--registry-config`, `--insecure-registry`), for `oci`. */
  images?: ImageFlags;
  log?: (msg: string, fields?: object) => void;
}

/** Creates the runtime, or throws an Error whose message says what to do. */
export async function createRuntime(o: RuntimeChoice): Promise<ContainerRuntime> {
  const { name, dataDir, monitor, log } = o;
  if (!(MONITORS as readonly string[]).includes(monitor)) throw new Error(`unknown monitor ${JSON.stringify(monitor)}: use one of ${MONITORS.join(', ')}`);
  const monitorChoice = monitor as MonitorChoice;
  if (name === 'host') return HostRuntime.create({ dataDir, monitorChoice, ...(log ? { logger: log } : {}) });
  // The sandbox and oci runtimes are loaded only when chosen (the host runtime's RSS stays small).
  if (name === 'sandbox') return (await import('../runtime/sandbox.js')).SandboxRuntime.create({ dataDir, monitorChoice, ...(log ? { logger: log } : {}) });
  if (name === 'oci') {
    const { defaultImageDir, defaultRegistryConfig, imageGcPolicy } = await import('./images.js');
    const gc = imageGcPolicy(o.images ?? {});
    if (typeof gc === 'string') throw new Error(gc);
    const [{ createOciRuntime }, { ociSpec }] = await Promise.all([import('../runtime/oci-runtime.js'), import('../core/oci-spec.js')]);
    return createOciRuntime({
      imageGc: gc,
      dataDir, monitorChoice, ...(log ? { logger: log } : {}), buildSpec: ociSpec,
      imageDir: o.images?.imageDir ?? defaultImageDir(), registryConfig: o.images?.registryConfig ?? defaultRegistryConfig(),
      insecureRegistries: o.images?.insecureRegistry ?? [],
    });
  }
  throw new Error(`unknown runtime ${JSON.stringify(name)}: use one of ${RUNTIMES.join(', ')}`);
}

/**
 * The GPU inventory: `--gpus 2` (devices 0 and 1), `--gpus 0,3` (those IDs), `--gpus 0` (none),
 * or, without the flag, the GPUs `nvidia-smi -L` lists (their UUIDs).
 */
export function gpuInventory(flag: string | undefined): string[] {
  if (flag !== undefined) {
    if (/^\d+$/.test(flag)) return Array.from({ length: Number(flag) }, (_, i) => String(i));
    return flag.split(',').map((x) => x.trim()).filter((x) => x !== '');
  }
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return [];
  return [...r.stdout.matchAll(/\(UUID: (GPU-[0-9a-fA-F-]+)\)/g)].map((m) => m[1] as string);
}

/**
 * What pods read besides their manifest: the objects (`lookups`: the store's ConfigMaps and
 * Secrets for `serve`, none for `run`), the kubelet's atomic writer for config volumes (the
 * directory holding them is 0700: Secret files are for the pod only), and this node's facts.
 */
export function podConfig(lookups: ConfigLookups): PodConfig {
  return {
    lookups,
    writer: {
      async write(dir, files) {
        await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
        return writeAtomicVolume(dir, files);
      },
    },
    node: { nodeName: 'podvisor', hostIPs: ['127.0.0.1'], allocatable: { cpu: String(availableParallelism()), memory: String(totalmem()) } },
  };
}
