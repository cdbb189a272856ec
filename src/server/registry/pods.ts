/**
 * Pods in the registry: admission, defaulting, validation and the update rules of the API
 * server, in front of the agent, which stores and runs admitted pods (pod lifecycle only).
 * The watch cache is fed by the agent's stored changes (see `registry/index.ts`).
 */
import { checkDecodedPod } from '../../api/load.js';
import { decodePod } from '../../api/decode.js';
import { defaultPod } from '../../api/defaults.js';
import { fieldErrors, type FieldError } from '../../api/errors.js';
import { IMMUTABLE_PODVISOR_ANNOTATIONS } from '../../api/annotations.js';
import type { Pod } from '../../api/types.js';
import { NODE_NAME } from '../table.js';
import { validatePod } from '../../api/validation.js';
import type { NodeApi } from '../../agent/node-api.js';
import { POD_KIND } from '../kinds/pods.js';
import { HttpError, invalid, notFound } from '../status.js';
import { carryServerMeta, checkPreconditions, checkResourceVersion, generateName, immutableMetaErrors, retryGeneratedName, stampCreate } from './meta.js';
import type { NamespaceGate } from './namespaces.js';
import type { DeleteOptions, Meta, Resource, WriteOptions, Written } from './types.js';
import { WatchCache } from './watch-cache.js';

/** The annotation podvisor keeps the re-creation count in (set by the agent, never by a client). */
const ANN_RECREATIONS = 'podvisor.io/recreations';

/** The message of the API server's refusal of a pod spec change. */
const POD_UPDATE_FORBIDDEN = 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) o[k] = canon(x);
    }
    return o;
  }
  return v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

type Toleration = Record<string, unknown>;

/** The spec without what an update may change: images, `activeDeadlineSeconds`, tolerations (checked apart). */
function immutablePart(spec: Pod['spec']): unknown {
  const m = structuredClone(spec) as Pod['spec'] & { tolerations?: unknown };
  for (const c of [...m.containers, ...(m.initContainers ?? [])]) c.image = '';
  delete m.activeDeadlineSeconds;
  delete m.tolerations;
  return m;
}

/**
 * `ValidatePodUpdate`'s spec rules: only container and init container images,
 * `activeDeadlineSeconds` (set, or lowered; never removed) and additions to the tolerations
 * may change.
 */
function specUpdateErrors(next: Pod['spec'], cur: Pod['spec']): FieldError[] {
  const errors: FieldError[] = [];
  const n = next.activeDeadlineSeconds;
  const c = cur.activeDeadlineSeconds;
  if (n !== undefined) {
    if (n < 0 || n > 2147483647) errors.push({ type: 'Invalid', field: 'spec.activeDeadlineSeconds', value: n, detail: 'must be between 0 and 2147483647, inclusive' });
    else if (c !== undefined && c < n) errors.push({ type: 'Invalid', field: 'spec.activeDeadlineSeconds', value: n, detail: 'must be less than or equal to previous value' });
  } else if (c !== undefined) {
    errors.push({ type: 'Invalid', field: 'spec.activeDeadlineSeconds', value: 'null', detail: 'must not update from a positive integer to nil value' });
  }
  const nt = ((next as { tolerations?: Toleration[] }).tolerations ?? []).map((t) => JSON.stringify(canon(t)));
  const kept = ((cur as { tolerations?: Toleration[] }).tolerations ?? []).every((t) => nt.includes(JSON.stringify(canon(t))));
  if (!kept || !deepEqual(immutablePart(next), immutablePart(cur))) errors.push({ type: 'Forbidden', field: 'spec', detail: POD_UPDATE_FORBIDDEN });
  return errors;
}

/** The pods resource. */
export class PodResource implements Resource<Pod> {
  readonly def = POD_KIND;
  readonly cache: WatchCache<Pod>;

  constructor(
    private readonly agent: NodeApi,
    private readonly namespaces: NamespaceGate,
    private readonly now: () => number,
  ) {
    this.cache = new WatchCache<Pod>(Number(agent.resourceVersion()));
  }

  list(namespace?: string): Pod[] {
    return this.agent.listPods(namespace).sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  }

  get(namespace: string | undefined, name: string): Pod | undefined {
    return this.agent.getPod(namespace ?? 'default', name);
  }

  private mustGet(namespace: string, name: string): Pod {
    const pod = this.agent.getPod(namespace, name);
    if (!pod) throw new HttpError(notFound('pods', name));
    return pod;
  }

  create(namespace: string | undefined, body: Record<string, unknown>, opts: WriteOptions): Written<Pod> {
    const ns = namespace ?? 'default';
    const decoded = decodePod(body, opts.literals ? { literals: opts.literals } : {});
    decoded.pod.metadata.namespace = ns;
    const again = generateName(decoded.pod.metadata);
    const { pod, errors, warnings } = checkDecodedPod(decoded, { create: true });
    if (errors.length > 0) throw new HttpError(invalid('Pod', pod.metadata.name || pod.metadata.generateName || '', errors));
    this.namespaces.admit(ns, 'pods', pod.metadata.name || pod.metadata.generateName || '');
    const admission = this.agent.admit(pod);
    if (admission.problems.length > 0) {
      const causes: FieldError[] = admission.problems.map((p) => ({ type: 'Forbidden', field: 'spec.volumes', detail: p }));
      throw new HttpError(invalid('Pod', pod.metadata.name ?? '', causes));
    }
    warnings.push(...admission.warnings);
    retryGeneratedName(pod.metadata, again, (n) => this.agent.getPod(ns, n) !== undefined);
    stampCreate(pod.metadata, this.now());
    // Bound to this node at once, as the scheduler's binding would.
    pod.spec.nodeName ??= NODE_NAME;
    delete pod.status;
    const unknown = new Set(decoded.warnings.filter((w) => w.startsWith('unknown field "')));
    const shown = warnings.filter((w) => !unknown.has(w));
    if (opts.dryRun) return { obj: { ...pod, status: { phase: 'Pending' } }, warnings: shown };
    return { obj: this.agent.createPod(pod), warnings: shown };
  }

  update(namespace: string | undefined, name: string, next: Record<string, unknown>, opts: WriteOptions): Written<Pod> {
    const ns = namespace ?? 'default';
    const cur = this.mustGet(ns, name);
    const decoded = decodePod(next, opts.literals ? { literals: opts.literals } : {});
    if (decoded.typeErrors) throw new HttpError(invalid('Pod', name, checkDecodedPod(decoded).errors));
    const pod = decoded.pod;
    carryServerMeta(pod.metadata, cur.metadata);
    checkResourceVersion(pod.metadata, cur.metadata, 'pods', name);
    if (cur.status !== undefined) pod.status = cur.status;
    else delete pod.status;
    const errors = immutableMetaErrors(pod.metadata, cur.metadata);
    const nextAnn = pod.metadata.annotations ?? {};
    const curAnn = cur.metadata.annotations ?? {};
    for (const k of [...IMMUTABLE_PODVISOR_ANNOTATIONS, ANN_RECREATIONS]) {
      if (nextAnn[k] !== curAnn[k]) errors.push({ type: 'Invalid', field: `metadata.annotations[${k}]`, value: nextAnn[k] ?? '', detail: 'field is immutable' });
    }
    // Both defaulted: a pod stored before a default was added compares as the API stores it now.
    const nextSpec = defaultPod({ ...pod, metadata: cur.metadata }).spec;
    const curSpec = defaultPod(cur).spec;
    errors.push(...specUpdateErrors(nextSpec, curSpec));
    if (errors.length > 0) throw new HttpError(invalid('Pod', name, errors));
    const merged: Pod = { ...cur, metadata: { ...cur.metadata }, spec: nextSpec };
    if (pod.metadata.labels) merged.metadata.labels = pod.metadata.labels;
    else delete merged.metadata.labels;
    if (pod.metadata.annotations) merged.metadata.annotations = pod.metadata.annotations;
    else delete merged.metadata.annotations;
    // The field manager's decision (see apply/): who owns which field after this write.
    const managed = (pod.metadata as Meta).managedFields;
    if (managed) (merged.metadata as Meta).managedFields = managed;
    else delete (merged.metadata as Meta).managedFields;
    const v = validatePod(merged, { create: false, allowManaged: true });
    if (v.errors.length > 0) throw new HttpError(invalid('Pod', name, v.errors));
    if (opts.dryRun) return { obj: merged, warnings: v.warnings };
    return { obj: this.agent.updatePod(ns, name, merged), warnings: v.warnings };
  }

  /**
   * The `ephemeralcontainers` subresource's update (the API server's
   * `podEphemeralContainersStrategy`): of `next` only `spec.ephemeralContainers` is taken, the
   * rest stays the stored pod; ephemeral containers may be added, never changed or removed
   * (`ValidatePodEphemeralContainersUpdate`), and each is validated as the API server does (no
   * ports, probes, resources or lifecycle; unique names; a target that exists).
   */
  updateEphemeralContainers(namespace: string | undefined, name: string, next: Record<string, unknown>, opts: WriteOptions): Written<Pod> {
    const ns = namespace ?? 'default';
    const cur = this.mustGet(ns, name);
    const decoded = decodePod(next, opts.literals ? { literals: opts.literals } : {});
    if (decoded.typeErrors) throw new HttpError(invalid('Pod', name, checkDecodedPod(decoded).errors));
    checkResourceVersion(decoded.pod.metadata, cur.metadata, 'pods', name);
    const added = defaultPod({ ...decoded.pod, metadata: cur.metadata }).spec.ephemeralContainers ?? [];
    const merged: Pod = structuredClone(cur);
    if (added.length > 0) merged.spec.ephemeralContainers = added;
    else delete merged.spec.ephemeralContainers;
    const errors: FieldError[] = [];
    const byName = new Map(added.map((c) => [c.name, c]));
    for (const old of cur.spec.ephemeralContainers ?? []) {
      const now = byName.get(old.name);
      if (!now) errors.push(fieldErrors.forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(old.name)} may not be removed\n`));
      else if (JSON.stringify(canon(now)) !== JSON.stringify(canon(old))) errors.push(fieldErrors.forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(old.name)} may not be changed\n`));
    }
    const v = validatePod(merged, { create: false, allowManaged: true });
    errors.push(...v.errors);
    if (errors.length > 0) throw new HttpError(invalid('Pod', name, errors));
    if (opts.dryRun) return { obj: merged, warnings: v.warnings };
    // Runtimes without images run an ephemeral container's command from the host's filesystem: say so (kubectl prints it).
    const runtime = this.agent.nodeInfo().runtime;
    const known = new Set((cur.spec.ephemeralContainers ?? []).map((c) => c.name));
    const notices = runtime === 'oci' ? [] : added.filter((c) => !known.has(c.name)).map((c) =>
      `ephemeral container ${JSON.stringify(c.name)}: the ${runtime} runtime runs its command from the host's filesystem; image ${JSON.stringify(c.image ?? '')} is not used (podvisor serve --runtime oci runs images)`);
    return { obj: this.agent.updatePod(ns, name, merged), warnings: [...v.warnings, ...notices] };
  }

  delete(namespace: string | undefined, name: string, opts: DeleteOptions): Pod {
    const ns = namespace ?? 'default';
    const cur = this.mustGet(ns, name);
    checkPreconditions(cur, 'pods', name, opts);
    if (opts.dryRun) return cur;
    return this.agent.deletePod(ns, name, opts.gracePeriodSeconds);
  }
}
