/**
 * The `oci` runtime adapter (`--runtime oci`, Linux, root): the sandbox runtime's pod sandboxes
 * (network namespace and IP, IPC/UTS holder, cgroups, volumes), with every container run from
 * its image by an OCI runtime (runc) under the same monitors, so every restart level keeps its
 * meaning: a container restart and an in-place pod restart keep the sandbox, the pulled image
 * and the volumes; a re-create builds a new sandbox and reuses the image cache.
 *
 * The parts live in `oci/`: `reference.ts`, `registry.ts`, `credentials.ts`, `pull.ts` and
 * `store.ts` pull images into a content-addressed store shared by every pod; `unpack.ts` unpacks
 * their layers (GNU tar); `images.ts` is the runtime's image service; `rootfs.ts` mounts an
 * overlay per container instance; `users.ts` resolves users in the image; `launcher.ts` writes
 * `config.json` (with the core's builder, handed in) and runs `runc run`.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { NO_CREDENTIALS, readDockerConfig } from './oci/credentials.js';
import { DEFAULT_IMAGE_GC, type ImageGcPolicy } from './oci/image-gc.js';
import { OciImages } from './oci/images.js';
import { OciLauncher, type OciSpecBuilder } from './oci/launcher.js';
import type { Platform } from './oci/pull.js';
import { RegistryClient } from './oci/registry.js';
import { ImageStore } from './oci/store.js';
import { LayerStore } from './oci/unpack.js';
import { findExecutable } from './proc-util.js';
import { SandboxRuntime, sandboxAvailability, type SandboxRuntimeOptions } from './sandbox.js';

/** Options of {@link createOciRuntime}. */
export interface OciRuntimeOptions extends Omit<SandboxRuntimeOptions, 'oci'> {
  /** The image store (shared by `run`, `serve`, `pull`, `images`, `rmi`). */
  imageDir: string;
  /** A Docker config file with registry credentials (absent or unreadable: anonymous pulls). */
  registryConfig?: string;
  /** Registries (host[:port]) reached over plain HTTP, besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** The core's `config.json` builder. */
  buildSpec: OciSpecBuilder;
  platform?: Platform;
  /** Image garbage collection thresholds (default: the kubelet's 85 % and 80 %). */
  imageGc?: ImageGcPolicy;
}

const PATH_ENV = (): string => process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** True when the kernel offers overlayfs (listed, or loadable as a module). */
function hasOverlay(): boolean {
  try {
    if (/\toverlay$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'))) return true;
  } catch {
    return false;
  }
  return fs.existsSync(`/lib/modules/${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}/kernel/fs/overlayfs`);
}

/**
 * Why the oci runtime cannot run here (every problem, each with its fix), or undefined: what the
 * sandbox runtime needs, plus runc, overlayfs, GNU tar and setfattr (`attr`).
 */
export async function ociAvailability(): Promise<string | undefined> {
  const base = await sandboxAvailability();
  const problems = base !== undefined ? [base.replace(/the sandbox runtime/g, 'the oci runtime')] : [];
  if (process.platform !== 'linux') return problems.join('; ');
  const env = PATH_ENV();
  if (findExecutable('runc', env) === undefined) problems.push('the oci runtime needs runc: apt-get install runc');
  if (findExecutable('tar', env) === undefined) problems.push('the oci runtime needs GNU tar to unpack image layers: apt-get install tar');
  if (findExecutable('setfattr', env) === undefined) problems.push('the oci runtime needs setfattr for opaque whiteouts: apt-get install attr');
  if (!hasOverlay()) problems.push('the oci runtime needs the kernel\'s overlayfs: modprobe overlay');
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/**
 * Checks {@link ociAvailability}, opens the image store and returns a ready runtime (a
 * {@link SandboxRuntime} whose name is `oci` and which has `images`); throws an Error listing
 * what is missing otherwise.
 */
export async function createOciRuntime(o: OciRuntimeOptions): Promise<SandboxRuntime> {
  const problem = await ociAvailability();
  if (problem !== undefined) throw new Error(problem);
  const env = PATH_ENV();
  const runc = findExecutable('runc', env) ?? 'runc';
  const store = await ImageStore.open(o.imageDir);
  const layers = new LayerStore(store);
  const credentials = o.registryConfig !== undefined ? readDockerConfig(o.registryConfig) : NO_CREDENTIALS;
  const client = new RegistryClient({ credentials, insecure: o.insecureRegistries ?? [] });
  const images = new OciImages({
    store, layers, client, gc: o.imageGc ?? DEFAULT_IMAGE_GC, ...(o.platform ? { platform: o.platform } : {}), ...(o.logger ? { log: o.logger } : {}),
  });
  await images.collect();
  const stateRoot = path.join(path.resolve(o.dataDir), 'runc');
  await fsp.mkdir(stateRoot, { recursive: true, mode: 0o700 });
  const launcher = new OciLauncher({ runtimePath: runc, stateRoot, layers, store, buildSpec: o.buildSpec });
  const { imageDir: _i, registryConfig: _r, insecureRegistries: _s, buildSpec: _b, platform: _p, imageGc: _g, ...sandbox } = o;
  // The command is PID 1 of its container, as in Kubernetes, unless a pod asks for an init.
  return SandboxRuntime.create({ ...sandbox, containerInit: sandbox.containerInit ?? false, oci: { launcher, images } });
}
