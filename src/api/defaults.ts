/**
 * API server defaulting of a Pod (kubernetes/kubernetes `pkg/apis/core/v1/defaults.go`
 * `SetDefaults_*`, plus the request namespace), restricted to the fields podvisor models.
 * Defaulting runs before validation, as on the API server (spec §1.3 rule 5).
 */
import type { Container, HTTPGetAction, LifecycleHandler, Pod, Probe } from './types.js';
import { defaultRefSources, hasVolumeSource } from './validation-refs.js';

/** `v1.DefaultTerminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

/** A pod's `terminationGracePeriodSeconds`, or the API server's default when it was never defaulted. */
export function podGraceSeconds(pod: Pick<Pod, 'spec'>): number {
  return pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
}
/** `v1.TerminationMessagePathDefault`. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

// Docker reference grammar (distribution/reference), enough to find the tag the way
// upstream's `parsers.ParseImageName` does.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?)`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/**
 * The image pull policy the API server defaults for an image: `Always` when the tag is
 * `latest` or absent (and no digest is given), else `IfNotPresent` (also for images that do
 * not parse, whose tag upstream reads as empty).
 */
export function defaultImagePullPolicy(image: string | undefined): 'Always' | 'IfNotPresent' {
  const m = REFERENCE.exec(image ?? '');
  if (!m) return 'IfNotPresent';
  const tag = m[1] ?? (m[2] === undefined ? 'latest' : '');
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultHTTPGet(h: HTTPGetAction | undefined): void {
  if (!h) return;
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHTTPGet(p.httpGet);
}

function defaultHandler(h: LifecycleHandler | undefined): void {
  if (h) defaultHTTPGet(h.httpGet);
}

function defaultContainer(c: Container, requestsFromLimits: boolean): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultImagePullPolicy(c.image);
  if (!c.terminationMessagePath) c.terminationMessagePath = DEFAULT_TERMINATION_MESSAGE_PATH;
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const port of c.ports ?? []) {
    if (!port.protocol) port.protocol = 'TCP';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart);
  defaultHandler(c.lifecycle?.preStop);
  // SetDefaults_Pod: requests default to limits (regular and init containers only).
  const limits = c.resources?.limits;
  if (requestsFromLimits && c.resources && limits) {
    const requests = c.resources.requests ?? {};
    for (const key of Object.keys(limits)) {
      if (!Object.prototype.hasOwnProperty.call(requests, key)) {
        Object.defineProperty(requests, key, { value: limits[key], enumerable: true, writable: true, configurable: true });
      }
    }
    c.resources.requests = requests;
  }
}

/**
 * Returns a new pod with the API server's defaults applied; the input is not modified.
 *
 * - `metadata.namespace`: `default` when empty (kubectl's request namespace).
 * - `spec.restartPolicy`: `Always` when absent or `""`.
 * - `spec.terminationGracePeriodSeconds`: 30 when absent; a negative value becomes 1, as the
 *   API server converts it since 1.27 (the validation warning tells the user).
 * - volumes without a source get `emptyDir: {}` (`SetDefaults_Volume`); `hostPath.type` `""`.
 * - every container (regular, init, ephemeral): `imagePullPolicy` (`Always` for a `latest` or
 *   missing tag, else `IfNotPresent`), `terminationMessagePath` `/dev/termination-log`,
 *   `terminationMessagePolicy` `File`, port `protocol` `TCP`; probes `timeoutSeconds` 1,
 *   `periodSeconds` 10, `successThreshold` 1, `failureThreshold` 3 (also when 0); `httpGet`
 *   (probes and lifecycle handlers) `path` `/` and `scheme` `HTTP`.
 * - regular and init containers: resource `requests` default to `limits` (`SetDefaults_Pod`).
 * - ConfigMap, Secret and downward API references (`defaultRefSources`): volume `defaultMode`
 *   0644, `fieldRef.apiVersion` `v1`, `resourceFieldRef.divisor` `"0"`.
 * - what the API server writes into every pod it stores (`SetDefaults_PodSpec` and the default
 *   admission plugins), stored and shown as on a cluster: `dnsPolicy` `ClusterFirst`,
 *   `schedulerName` `default-scheduler`, `securityContext` `{}`, `serviceAccountName` (and its
 *   deprecated alias `serviceAccount`) `default`, `enableServiceLinks` true, `priority` 0,
 *   `preemptionPolicy` `PreemptLowerPriority`, and the `NoExecute` tolerations of not-ready and
 *   unreachable nodes for 300 s (`DefaultTolerationSeconds`) unless the pod tolerates them.
 */
export function defaultPod(pod: Pod): Pod {
  const p = structuredClone(pod);
  p.metadata ??= {};
  if (!p.metadata.namespace) p.metadata.namespace = 'default';
  p.spec ??= { containers: [] };
  const spec = p.spec;
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.terminationGracePeriodSeconds === undefined) {
    spec.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  } else if (spec.terminationGracePeriodSeconds < 0) {
    spec.terminationGracePeriodSeconds = 1;
  }
  for (const v of spec.volumes ?? []) {
    if (!hasVolumeSource(v)) v.emptyDir = {};
    if (v.hostPath && v.hostPath.type === undefined) v.hostPath.type = '';
  }
  for (const c of spec.containers ?? []) defaultContainer(c, true);
  for (const c of spec.initContainers ?? []) defaultContainer(c, true);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c, false);
  defaultRefSources(spec);
  defaultStoredFields(spec);
  return p;
}

/** A toleration as the API server stores it (the field is stored, not modelled). */
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** The taints `DefaultTolerationSeconds` makes every pod tolerate for 300 s. */
const DEFAULT_TOLERATED_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/** The stored-only fields the API server defaults (see {@link defaultPod}). */
function defaultStoredFields(spec: Pod['spec']): void {
  const s = spec as Pod['spec'] & Record<string, unknown>;
  if (!s['dnsPolicy']) s['dnsPolicy'] = 'ClusterFirst';
  if (!s['schedulerName']) s['schedulerName'] = 'default-scheduler';
  s.securityContext ??= {};
  const sa = s.serviceAccountName || (typeof s['serviceAccount'] === 'string' && s['serviceAccount'] !== '' ? s['serviceAccount'] : 'default');
  s.serviceAccountName = sa;
  s['serviceAccount'] = sa;
  if (s['enableServiceLinks'] === undefined) s['enableServiceLinks'] = true;
  if (s['priority'] === undefined) s['priority'] = 0;
  if (!s['preemptionPolicy']) s['preemptionPolicy'] = 'PreemptLowerPriority';
  const tolerations = Array.isArray(s['tolerations']) ? (s['tolerations'] as Toleration[]) : [];
  for (const key of DEFAULT_TOLERATED_TAINTS) {
    const tolerated = tolerations.some((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute'));
    if (!tolerated) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  s['tolerations'] = tolerations;
}
