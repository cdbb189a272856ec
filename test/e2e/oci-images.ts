/**
 * The e2e scenarios on the oci runtime: a registry on 127.0.0.1 (Debian's docker-registry,
 * started once per test file) with the busybox image built from busybox-static, and the
 * transformation that lets a scenario written for the host runtime run unchanged on images.
 */
import { parseAllDocuments } from 'yaml';
import { ociAvailability } from '../../src/runtime/oci-runtime.js';
import { buildBusybox, fixtureProblem, startRegistry, type TestRegistry } from '../oci/registry-fixture.js';

/** Why the oci runtime cannot run here (undefined: it can). Under `CI=true` it must. */
export async function ociProblem(): Promise<string | undefined> {
  const p = (await ociAvailability()) ?? fixtureProblem();
  if (p !== undefined && process.env['CI'] === 'true') throw new Error(`the oci runtime must run on CI: ${p}`);
  return p;
}

let started: Promise<{ registry: TestRegistry; busybox: string }> | undefined;

/** The registry and the busybox image's reference (started on first use, once per file). */
export function ociRegistry(): Promise<{ registry: TestRegistry; busybox: string }> {
  started ??= (async () => {
    const registry = await startRegistry();
    return { registry, busybox: await buildBusybox(registry) };
  })();
  return started;
}

/** Stops the registry if it was started. */
export async function stopOciRegistry(): Promise<void> {
  const s = started;
  started = undefined;
  if (s) await (await s).registry.stop();
}

/** How a host-runtime scenario becomes an oci one. */
export interface OciRewrite {
  /** The image every `busybox:1.36` becomes. */
  busybox: string;
  /**
   * Host directories the scenario's commands use (marker files): bind-mounted (hostPath) at the
   * same path into every container.
   */
  hostDirs: readonly string[];
  /** `podvisor.io/container-init: "true"` (an init as PID 1, as on the sandbox runtime). */
  init: boolean;
}

/**
 * Rewrites every Pod of a manifest for the oci runtime (see {@link OciRewrite}); other documents
 * stay as they are.
 */
export function forOci(text: string, o: OciRewrite): string {
  return parseAllDocuments(text).map((doc) => {
    const pod = doc.toJS() as Record<string, any> | null;
    if (!pod || pod['kind'] !== 'Pod') return doc.toString();
    pod['metadata'] ??= {};
    if (o.init) pod['metadata'].annotations = { ...(pod['metadata'].annotations ?? {}), 'podvisor.io/container-init': 'true' };
    const spec = pod['spec'] ?? {};
    const vols = o.hostDirs.map((d, i) => ({ name: `e2e-host-${i}`, hostPath: { path: d, type: 'DirectoryOrCreate' } }));
    if (vols.length > 0) spec.volumes = [...(spec.volumes ?? []), ...vols];
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      if (c.image === 'busybox:1.36') c.image = o.busybox;
      if (vols.length > 0) c.volumeMounts = [...(c.volumeMounts ?? []), ...o.hostDirs.map((d, i) => ({ name: `e2e-host-${i}`, mountPath: d }))];
    }
    return `---\n${JSON.stringify(pod)}\n`;
  }).join('');
}
