/**
 * Pod validation with the Kubernetes 1.36 API server's rules and messages (spec §1.3, D7, D11).
 *
 * Mirrors kubernetes/kubernetes `pkg/apis/core/validation/validation.go` (`ValidatePodCreate`,
 * `ValidatePodSpec`, `validateContainers`, `validateInitContainers`,
 * `validateEphemeralContainers`, `validateContainerRestartPolicy`, ...) for the fields podvisor
 * models, plus the podvisor annotations of spec §10.1. Every check runs and every error is
 * collected (never stopping at the first), in the API server's order:
 *
 * 1. metadata: `generateName`, `name`, `namespace`, `generation`, labels, annotation keys and
 *    size, then the `podvisor.io/` annotations (E13–E15);
 * 2. `spec.terminationGracePeriodSeconds`, `spec.volumes`, `spec.containers`,
 *    `spec.initContainers`, `spec.ephemeralContainers`, `spec.restartPolicy` (E1),
 *    `spec.readinessGates`, `spec.nodeName`, `spec.activeDeadlineSeconds`, `spec.hostname`;
 * 3. pod-only checks (image whitespace), then on create `spec.ephemeralContainers` (E11).
 *
 * Inside a container: name, image, terminationMessagePolicy, ports, env and envFrom
 * (`validation-refs.ts`, also the configMap/secret/downwardAPI/projected volume sources),
 * volumeMounts, imagePullPolicy, resources, then (by kind) duplicate name, lifecycle and probes
 * (or E10), and `restartPolicy`, rule count, each rule's `action`, `exitCodes`, `operator`,
 * `values`.
 *
 * The fields podvisor does not model (`tolerations`, `nodeSelector`, `securityContext`, ...)
 * are not part of the decoded pod; `validateUnmodelledFields` (end of this file) applies the
 * API server's rules to them, and the decoder reports its errors with the decoding errors.
 *
 * The pod is expected to be decoded (`decode.ts`) and defaulted (`defaults.ts`) first; the
 * checks are nevertheless defensive about missing fields and never throw.
 */
import type {
  Affinity,
  AppArmorProfile,
  Container,
  ContainerPort,
  ContainerResizePolicy,
  EphemeralContainer,
  HostAlias,
  LabelSelector,
  LifecycleHandler,
  NodeAffinity,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  OwnerReference,
  Pod,
  PodAffinity,
  PodAffinityTerm,
  PodDNSConfig,
  PodSchedulingGate,
  Probe,
  Quantity,
  SeccompProfile,
  SecurityContext,
  Sysctl,
  Toleration,
  TopologySpreadConstraint,
  UnmodelledContainer,
  UnmodelledFields,
  UnmodelledPodSpec,
  Volume,
  WindowsSecurityContextOptions,
} from './types.js';
import { fieldErrors, VerbatimValue, type FieldError } from './errors.js';
import { validatePodvisorAnnotations } from './annotations.js';
import {
  byteLength,
  inclusiveRangeError,
  IS_NEGATIVE_ERROR_MSG,
  isDNS1123Label,
  isDNS1123Subdomain,
  isHTTPHeaderName,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  maxLenError,
  nameIsDNSSubdomain,
  regexError,
} from './names.js';
import { parseQuantity, quantityString } from './quantity.js';
import { validateContainerEnv, validateRefVolumeSources } from './validation-refs.js';

/** Options of {@link validatePod}. */
export interface PodValidationOptions {
  /**
   * True (default) when the pod is being created: `spec.ephemeralContainers` is then
   * forbidden (E11). False validates an existing pod, e.g. after ephemeral containers were
   * added by a later operation.
   */
  create?: boolean;
  /** True when podvisor itself writes the pod (a re-creation): `podvisor.io/recreations` is allowed (E15). */
  allowManaged?: boolean;
}

/** Result of {@link validatePod}. */
export interface ValidationResult {
  /** Every error, in the API server's order; empty when the pod is valid. */
  errors: FieldError[];
  /** API warnings (HTTP `Warning: 299` texts), e.g. unknown `podvisor.io/` annotations. */
  warnings: string[];
}

/** Max rules per container (E5). */
export const MAX_RESTART_RULES = 20;
/** Max exit code values per rule (E9). */
export const MAX_EXIT_CODE_VALUES = 255;
/** `TotalAnnotationSizeLimitB`: 256 kB over all keys and values. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

const INT32_MAX = 2_147_483_647;
const FORBIDDEN_INIT = 'may not be set for init containers without restartPolicy=Always';
const FORBIDDEN_EPHEMERAL = 'cannot be set for an Ephemeral Container';

type Errs = FieldError[];

// ---------------------------------------------------------------- metadata

/** `ValidateLabelName`: a qualified name, errors on `path` with the key as value. */
function validateLabelName(key: string, path: string, errs: Errs): void {
  for (const m of isQualifiedName(key)) errs.push(fieldErrors.invalid(path, key, m));
}

/** `ValidateLabels` (meta/v1): keys are qualified names, values label values; every error on `path`. */
export function validateLabels(labels: Readonly<Record<string, string>>, path: string, errs: Errs): void {
  for (const k of Object.keys(labels)) {
    validateLabelName(k, path, errs);
    const v = labels[k] ?? '';
    for (const m of isValidLabelValue(v)) errs.push(fieldErrors.invalid(path, v, m));
  }
}

function validateObjectMeta(pod: Pod, errs: Errs): void {
  const meta = pod.metadata ?? {};
  const name = meta.name ?? '';
  const generateName = meta.generateName ?? '';
  if (generateName !== '') {
    for (const m of nameIsDNSSubdomain(generateName, true)) errs.push(fieldErrors.invalid('metadata.generateName', generateName, m));
  }
  // The API server generates the name from generateName before validating (so does the node
  // agent's create); offline (`podvisor validate`) there is no name yet, so an empty name is
  // only an error without generateName.
  if (name === '') {
    if (generateName === '') errs.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const m of nameIsDNSSubdomain(name, false)) errs.push(fieldErrors.invalid('metadata.name', name, m));
  }
  const ns = meta.namespace ?? '';
  if (ns === '') errs.push(fieldErrors.required('metadata.namespace', ''));
  else for (const m of isDNS1123Label(ns)) errs.push(fieldErrors.invalid('metadata.namespace', ns, m));
  if (meta.generation !== undefined && meta.generation < 0) {
    errs.push(fieldErrors.invalid('metadata.generation', meta.generation, IS_NEGATIVE_ERROR_MSG));
  }
  validateLabels(meta.labels ?? {}, 'metadata.labels', errs);
  const annotations = meta.annotations ?? {};
  let size = 0;
  for (const k of Object.keys(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(fieldErrors.invalid('metadata.annotations', k, m));
    size += byteLength(k) + byteLength(annotations[k] ?? '');
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldErrors.tooLong('metadata.annotations', TOTAL_ANNOTATION_SIZE_LIMIT));
}

// ---------------------------------------------------------------- volumes

const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

function validatePathNoBacksteps(p: string, path: string, errs: Errs): void {
  if (p.split('/').includes('..')) errs.push(fieldErrors.invalid(path, p, "must not contain '..'"));
}

function validateLocalDescendingPath(p: string, path: string, errs: Errs): void {
  if (p.startsWith('/')) errs.push(fieldErrors.invalid(path, p, 'must be a relative path'));
  validatePathNoBacksteps(p, path, errs);
}

/** Returns the names of the volumes without errors (the only ones mounts may reference). */
function validateVolumes(volumes: readonly Volume[], errs: Errs): Set<string> {
  const valid = new Set<string>();
  const all = new Set<string>();
  volumes.forEach((vol, i) => {
    const p = `spec.volumes[${i}]`;
    const el: Errs = [];
    let n = 0;
    if (vol.emptyDir) {
      n++;
      const sl = vol.emptyDir.sizeLimit;
      if (sl !== undefined) {
        const q = parseQuantity(sl);
        if (q.ok && q.value < 0) el.push(fieldErrors.forbidden(`${p}.emptyDir.sizeLimit`, 'SizeLimit field must be a valid resource quantity'));
      }
    }
    if (vol.hostPath) {
      if (n > 0) {
        el.push(fieldErrors.forbidden(`${p}.hostPath`, 'may not specify more than 1 volume type'));
      } else {
        n++;
        const hp = vol.hostPath.path ?? '';
        if (hp === '') {
          el.push(fieldErrors.required(`${p}.hostPath.path`, ''));
        } else {
          validatePathNoBacksteps(hp, `${p}.hostPath.path`, el);
          const t = vol.hostPath.type;
          if (t !== undefined && !HOST_PATH_TYPES.includes(t)) el.push(fieldErrors.notSupported(`${p}.hostPath.type`, t, HOST_PATH_TYPES));
        }
      }
    }
    n = validateRefVolumeSources(vol, p, n, el);
    if (n === 0) el.push(fieldErrors.required(p, 'must specify a volume type'));
    const name = vol.name ?? '';
    if (name === '') el.push(fieldErrors.required(`${p}.name`, ''));
    else for (const m of isDNS1123Label(name)) el.push(fieldErrors.invalid(`${p}.name`, name, m));
    if (all.has(name)) el.push(fieldErrors.duplicate(`${p}.name`, name));
    if (el.length === 0) {
      all.add(name);
      valid.add(name);
    } else {
      errs.push(...el);
    }
  });
  return valid;
}

// ---------------------------------------------------------------- containers

function validatePorts(ports: readonly ContainerPort[], path: string, errs: Errs): void {
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `${path}[${i}]`;
    const name = port.name ?? '';
    if (name !== '') {
      const msgs = isValidPortName(name);
      if (msgs.length > 0) for (const m of msgs) errs.push(fieldErrors.invalid(`${p}.name`, name, m));
      else if (names.has(name)) errs.push(fieldErrors.duplicate(`${p}.name`, name));
      else names.add(name);
    }
    const cp = port.containerPort ?? 0;
    if (cp === 0) errs.push(fieldErrors.required(`${p}.containerPort`, ''));
    else for (const m of isValidPortNum(cp)) errs.push(fieldErrors.invalid(`${p}.containerPort`, cp, m));
    const hp = port.hostPort ?? 0;
    if (hp !== 0) for (const m of isValidPortNum(hp)) errs.push(fieldErrors.invalid(`${p}.hostPort`, hp, m));
    const proto = port.protocol ?? '';
    if (proto === '') errs.push(fieldErrors.required(`${p}.protocol`, ''));
    else if (!['SCTP', 'TCP', 'UDP'].includes(proto)) errs.push(fieldErrors.notSupported(`${p}.protocol`, proto, ['SCTP', 'TCP', 'UDP']));
  });
}

function validateVolumeMounts(c: Container, volumes: ReadonlySet<string>, path: string, errs: Errs): void {
  const mountPoints = new Set<string>();
  (c.volumeMounts ?? []).forEach((vm, i) => {
    const p = `${path}[${i}]`;
    const name = vm.name ?? '';
    const mountPath = vm.mountPath ?? '';
    if (name === '') errs.push(fieldErrors.required(`${p}.name`, ''));
    if (!volumes.has(name)) errs.push({ type: 'NotFound', field: `${p}.name`, value: name, detail: '' });
    if (mountPath === '') errs.push(fieldErrors.required(`${p}.mountPath`, ''));
    if (mountPoints.has(mountPath)) errs.push(fieldErrors.invalid(`${p}.mountPath`, mountPath, 'must be unique'));
    mountPoints.add(mountPath);
    // Upstream reports subPath problems on `<volumeMounts>.subPath` (without the index).
    if (vm.subPath) validateLocalDescendingPath(vm.subPath, `${path}.subPath`, errs);
  });
}

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const STANDARD_RESOURCES = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods', 'services', 'replicationcontrollers',
  'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'requests.storage', 'services.nodeports',
  'services.loadbalancers',
]);

const isHugePages = (n: string): boolean => n.startsWith('hugepages-');
const isNativeResource = (n: string): boolean => !n.includes('/') || n.includes('kubernetes.io/');
function isExtendedResource(n: string): boolean {
  if (isNativeResource(n) || n.startsWith('requests.')) return false;
  return isQualifiedName(`requests.${n}`).length === 0;
}
const isOvercommitAllowed = (n: string): boolean => isNativeResource(n) && !isHugePages(n);

/** `validateContainerResourceName`; the name renders unquoted (upstream's `ResourceName` is a `Stringer`). */
function validateResourceName(name: string, path: string, errs: Errs): void {
  const shown = new VerbatimValue(name);
  const q = isQualifiedName(name);
  const unprefixed = !name.includes('/');
  if (q.length > 0) {
    for (const m of q) errs.push(fieldErrors.invalid(path, name, m));
  } else if (unprefixed && !STANDARD_RESOURCES.has(name) && !isHugePages(name)) {
    errs.push(fieldErrors.invalid(path, shown, 'must be a standard resource type or fully qualified'));
  }
  if (unprefixed) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) {
      errs.push(fieldErrors.invalid(path, shown, 'must be a standard resource for containers'));
    }
  } else if (!isNativeResource(name) && !isExtendedResource(name)) {
    errs.push(fieldErrors.invalid(path, shown, "doesn't follow extended resource name standard"));
  }
}

function validateQuantityValue(name: string, q: Quantity, path: string, errs: Errs): void {
  const parsed = parseQuantity(q);
  if (!parsed.ok) return; // reported by the decoder
  if (parsed.value < 0) errs.push(fieldErrors.invalid(path, quantityString(q), IS_NEGATIVE_ERROR_MSG));
  if (isExtendedResource(name) && Math.round(parsed.value * 1000) % 1000 !== 0) {
    errs.push(fieldErrors.invalid(path, new VerbatimValue(quantityString(q)), 'must be an integer'));
  }
}

function validateResources(c: Container, path: string, errs: Errs): void {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  let cpuOrMemory = false;
  let hugePages = false;
  for (const name of Object.keys(limits)) {
    const p = `${path}.limits[${name}]`;
    validateResourceName(name, p, errs);
    const q = limits[name];
    if (q !== undefined) validateQuantityValue(name, q, p, errs);
    if (isHugePages(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') cpuOrMemory = true;
  }
  for (const name of Object.keys(requests)) {
    const p = `${path}.requests[${name}]`;
    validateResourceName(name, p, errs);
    const q = requests[name];
    if (q === undefined) continue;
    validateQuantityValue(name, q, p, errs);
    const limit = Object.prototype.hasOwnProperty.call(limits, name) ? limits[name] : undefined;
    if (limit !== undefined) {
      const rq = parseQuantity(q);
      const lq = parseQuantity(limit);
      if (rq.ok && lq.ok) {
        if (rq.value !== lq.value && !isOvercommitAllowed(name)) {
          errs.push(fieldErrors.invalid(`${path}.requests`, quantityString(q), `must be equal to ${name} limit of ${quantityString(limit)}`));
        } else if (rq.value > lq.value) {
          errs.push(fieldErrors.invalid(`${path}.requests`, quantityString(q), `must be less than or equal to ${name} limit of ${quantityString(limit)}`));
        }
      }
    } else if (!isOvercommitAllowed(name)) {
      errs.push(fieldErrors.required(`${path}.limits`, 'Limit must be set for non overcommitable resources'));
    }
    if (isHugePages(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') cpuOrMemory = true;
  }
  if (!cpuOrMemory && hugePages) errs.push(fieldErrors.forbidden(path, 'HugePages require cpu or memory'));
}

/** `validateContainerCommon`: checks shared by regular, init and ephemeral containers. */
function validateContainerCommon(c: Container, volumes: ReadonlySet<string>, path: string, errs: Errs): void {
  const name = c.name ?? '';
  if (name === '') errs.push(fieldErrors.required(`${path}.name`, ''));
  else for (const m of isDNS1123Label(name)) errs.push(fieldErrors.invalid(`${path}.name`, name, m));
  if (!c.image) errs.push(fieldErrors.required(`${path}.image`, ''));
  const tmp = c.terminationMessagePolicy ?? '';
  if (tmp === '') errs.push(fieldErrors.required(`${path}.terminationMessagePolicy`, ''));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    errs.push(fieldErrors.notSupported(`${path}.terminationMessagePolicy`, tmp, ['File', 'FallbackToLogsOnError']));
  }
  validatePorts(c.ports ?? [], `${path}.ports`, errs);
  validateContainerEnv(c, path, errs);
  validateVolumeMounts(c, volumes, `${path}.volumeMounts`, errs);
  const pull = c.imagePullPolicy ?? '';
  if (pull === '') errs.push(fieldErrors.required(`${path}.imagePullPolicy`, ''));
  else if (!['Always', 'IfNotPresent', 'Never'].includes(pull)) {
    errs.push(fieldErrors.notSupported(`${path}.imagePullPolicy`, pull, ['Always', 'IfNotPresent', 'Never']));
  }
  validateResources(c, `${path}.resources`, errs);
}

function validatePortNumOrName(port: number | string | undefined, path: string, errs: Errs): void {
  if (typeof port === 'string') {
    for (const m of isValidPortName(port)) errs.push(fieldErrors.invalid(path, port, m));
  } else {
    const n = port ?? 0;
    for (const m of isValidPortNum(n)) errs.push(fieldErrors.invalid(path, n, m));
  }
}

/** `validateHandler`: exactly one handler, each one valid. */
function validateHandler(h: LifecycleHandler, gracePeriod: number | undefined, path: string, errs: Errs): void {
  let n = 0;
  const one = (key: string, check: () => void): void => {
    if (n > 0) {
      errs.push(fieldErrors.forbidden(`${path}.${key}`, 'may not specify more than 1 handler type'));
    } else {
      n++;
      check();
    }
  };
  if (h.exec) {
    const exec = h.exec;
    one('exec', () => {
      if (!exec.command || exec.command.length === 0) errs.push(fieldErrors.required(`${path}.exec.command`, ''));
    });
  }
  if (h.httpGet) {
    const g = h.httpGet;
    one('httpGet', () => {
      const p = `${path}.httpGet`;
      if (!g.path) errs.push(fieldErrors.required(`${p}.path`, ''));
      validatePortNumOrName(g.port, `${p}.port`, errs);
      const scheme = g.scheme ?? '';
      if (scheme !== 'HTTP' && scheme !== 'HTTPS') errs.push(fieldErrors.notSupported(`${p}.scheme`, scheme, ['HTTP', 'HTTPS']));
      for (const header of g.httpHeaders ?? []) {
        const hn = header.name ?? '';
        for (const m of isHTTPHeaderName(hn)) errs.push(fieldErrors.invalid(`${p}.httpHeaders`, hn, m));
      }
    });
  }
  if (h.tcpSocket) {
    const t = h.tcpSocket;
    one('tcpSocket', () => validatePortNumOrName(t.port, `${path}.tcpSocket.port`, errs));
  }
  if (h.sleep) {
    const s = h.sleep;
    one('sleep', () => {
      const secs = s.seconds ?? 0;
      // PodLifecycleSleepActionAllowZero is GA: 0 is allowed.
      if (gracePeriod !== undefined && (secs < 0 || secs > gracePeriod)) {
        errs.push(
          fieldErrors.invalid(`${path}.sleep`, secs, `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`),
        );
      }
    });
  }
  if (n === 0) errs.push(fieldErrors.required(path, 'must specify a handler type'));
}

type ProbeKind = 'liveness' | 'readiness' | 'startup';

function validateProbe(probe: Probe | undefined, kind: ProbeKind, gracePeriod: number | undefined, path: string, errs: Errs): void {
  if (!probe) return;
  validateHandler({ exec: probe.exec, httpGet: probe.httpGet, tcpSocket: probe.tcpSocket }, gracePeriod, path, errs);
  const nonNeg = (v: number | undefined, f: string): void => {
    if ((v ?? 0) < 0) errs.push(fieldErrors.invalid(`${path}.${f}`, v, IS_NEGATIVE_ERROR_MSG));
  };
  nonNeg(probe.initialDelaySeconds, 'initialDelaySeconds');
  nonNeg(probe.timeoutSeconds, 'timeoutSeconds');
  nonNeg(probe.periodSeconds, 'periodSeconds');
  nonNeg(probe.successThreshold, 'successThreshold');
  nonNeg(probe.failureThreshold, 'failureThreshold');
  const tgps = probe.terminationGracePeriodSeconds;
  if (tgps !== undefined && tgps <= 0) {
    errs.push(fieldErrors.invalid(`${path}.terminationGracePeriodSeconds`, tgps, 'must be greater than 0'));
  }
  if (kind === 'readiness') {
    if (tgps !== undefined) {
      errs.push(fieldErrors.invalid(`${path}.terminationGracePeriodSeconds`, tgps, 'must not be set for readinessProbes'));
    }
  } else if ((probe.successThreshold ?? 0) !== 1) {
    errs.push(fieldErrors.invalid(`${path}.successThreshold`, probe.successThreshold ?? 0, 'must be 1'));
  }
}

function validateLifecycleAndProbes(c: Container, gracePeriod: number | undefined, path: string, errs: Errs): void {
  if (c.lifecycle) {
    if (c.lifecycle.postStart) validateHandler(c.lifecycle.postStart, gracePeriod, `${path}.lifecycle.postStart`, errs);
    if (c.lifecycle.preStop) validateHandler(c.lifecycle.preStop, gracePeriod, `${path}.lifecycle.preStop`, errs);
  }
  validateProbe(c.livenessProbe, 'liveness', gracePeriod, `${path}.livenessProbe`, errs);
  validateProbe(c.readinessProbe, 'readiness', gracePeriod, `${path}.readinessProbe`, errs);
  validateProbe(c.startupProbe, 'startup', gracePeriod, `${path}.startupProbe`, errs);
}

/** `validateContainerRestartPolicy` (KEP-5307): E2–E9 for regular and init containers. */
function validateContainerRestartPolicy(c: Container, path: string, errs: Errs): void {
  const policy = c.restartPolicy as string | undefined;
  const rules = c.restartPolicyRules ?? [];
  if (policy === undefined) {
    if (rules.length === 0) return;
    errs.push(fieldErrors.required(`${path}.restartPolicy`, 'must specify restartPolicy when restart rules are used'));
  } else if (policy !== 'Always' && policy !== 'OnFailure' && policy !== 'Never') {
    errs.push(fieldErrors.notSupported(`${path}.restartPolicy`, policy, ['Always', 'Never', 'OnFailure']));
  }
  if (rules.length > MAX_RESTART_RULES) errs.push(fieldErrors.tooMany(`${path}.restartPolicyRules`, rules.length, MAX_RESTART_RULES));
  rules.forEach((rule, j) => {
    const rp = `${path}.restartPolicyRules[${j}]`;
    const action = (rule.action as string | undefined) ?? '';
    if (action !== 'Restart' && action !== 'RestartAllContainers') {
      errs.push(fieldErrors.notSupported(`${rp}.action`, action, ['Restart', 'RestartAllContainers']));
    }
    if (rule.exitCodes) {
      const op = (rule.exitCodes.operator as string | undefined) ?? '';
      if (op !== 'In' && op !== 'NotIn') errs.push(fieldErrors.notSupported(`${rp}.exitCodes.operator`, op, ['In', 'NotIn']));
      const values = rule.exitCodes.values ?? [];
      if (values.length > MAX_EXIT_CODE_VALUES) {
        errs.push(fieldErrors.tooMany(`${rp}.exitCodes.values`, values.length, MAX_EXIT_CODE_VALUES));
      }
    } else {
      errs.push(fieldErrors.required(`${rp}.exitCodes`, 'must be specified'));
    }
  });
}

/** `checkHostPortConflicts`: the same protocol/hostIP/hostPort twice. */
function checkHostPortConflicts(containers: readonly { c: Container; path: string }[], errs: Errs): void {
  const seen = new Set<string>();
  for (const { c, path } of containers) {
    (c.ports ?? []).forEach((port, i) => {
      const hp = port.hostPort ?? 0;
      if (hp === 0) return;
      const key = `${port.protocol ?? ''}/${port.hostIP ?? ''}/${hp}`;
      if (seen.has(key)) errs.push(fieldErrors.duplicate(`${path}.ports[${i}].hostPort`, key));
      else seen.add(key);
    });
  }
}

function validateContainers(pod: Pod, volumes: ReadonlySet<string>, gracePeriod: number | undefined, errs: Errs): void {
  const containers = pod.spec.containers ?? [];
  if (containers.length === 0) {
    errs.push(fieldErrors.required('spec.containers', ''));
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const path = `spec.containers[${i}]`;
    validateContainerCommon(c, volumes, path, errs);
    const name = c.name ?? '';
    if (names.has(name)) errs.push(fieldErrors.duplicate(`${path}.name`, name));
    else names.add(name);
    validateLifecycleAndProbes(c, gracePeriod, path, errs);
    validateContainerRestartPolicy(c, path, errs);
  });
  checkHostPortConflicts(containers.map((c, i) => ({ c, path: `spec.containers[${i}]` })), errs);
}

function validateInitContainers(pod: Pod, volumes: ReadonlySet<string>, gracePeriod: number | undefined, errs: Errs): void {
  const names = new Set<string>((pod.spec.containers ?? []).map((c) => c.name ?? ''));
  (pod.spec.initContainers ?? []).forEach((c, i) => {
    const path = `spec.initContainers[${i}]`;
    validateContainerCommon(c, volumes, path, errs);
    validateContainerRestartPolicy(c, path, errs);
    const name = c.name ?? '';
    if (names.has(name)) errs.push(fieldErrors.duplicate(`${path}.name`, name));
    else if (name !== '') names.add(name);
    // Upstream checks each init container on its own and names it index 0 (sic).
    checkHostPortConflicts([{ c, path: 'spec.initContainers[0]' }], errs);
    if (c.restartPolicy === 'Always') {
      validateLifecycleAndProbes(c, gracePeriod, path, errs);
    } else {
      // E10: a (non-sidecar) init container runs to completion; no probes, no hooks.
      if (c.lifecycle) errs.push(fieldErrors.forbidden(`${path}.lifecycle`, FORBIDDEN_INIT));
      if (c.livenessProbe) errs.push(fieldErrors.forbidden(`${path}.livenessProbe`, FORBIDDEN_INIT));
      if (c.readinessProbe) errs.push(fieldErrors.forbidden(`${path}.readinessProbe`, FORBIDDEN_INIT));
      if (c.startupProbe) errs.push(fieldErrors.forbidden(`${path}.startupProbe`, FORBIDDEN_INIT));
    }
  });
}

function validateImageWhitespace(c: Container, path: string, errs: Errs): void {
  const image = c.image ?? '';
  if (image.length !== image.trim().length) {
    errs.push(fieldErrors.invalid(`${path}.image`, image, 'must not have leading or trailing whitespace'));
  }
}

/** Fields of an ephemeral container outside upstream's allow-list, in `Container` field order. */
function forbiddenEphemeralFields(ec: EphemeralContainer): string[] {
  const out: string[] = [];
  if (ec.ports !== undefined) out.push('ports');
  const r = ec.resources;
  if (r !== undefined && (r.limits !== undefined || r.requests !== undefined)) out.push('resources');
  if (ec.restartPolicy !== undefined) out.push('restartPolicy');
  if (ec.restartPolicyRules !== undefined) out.push('restartPolicyRules');
  if (ec.livenessProbe !== undefined) out.push('livenessProbe');
  if (ec.readinessProbe !== undefined) out.push('readinessProbe');
  if (ec.startupProbe !== undefined) out.push('startupProbe');
  if (ec.lifecycle !== undefined) out.push('lifecycle');
  return out;
}

function validateEphemeralContainers(pod: Pod, volumes: ReadonlySet<string>, errs: Errs): void {
  const ecs = pod.spec.ephemeralContainers ?? [];
  if (ecs.length === 0) return;
  const others = new Set<string>();
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) others.add(c.name ?? '');
  const all = new Set(others);
  ecs.forEach((ec, i) => {
    const path = `spec.ephemeralContainers[${i}]`;
    validateContainerCommon(ec, volumes, path, errs);
    validateImageWhitespace(ec, path, errs);
    const name = ec.name ?? '';
    if (all.has(name)) errs.push(fieldErrors.duplicate(`${path}.name`, name));
    else all.add(name);
    const target = ec.targetContainerName ?? '';
    if (target !== '' && !others.has(target)) {
      errs.push({ type: 'NotFound', field: `${path}.targetContainerName`, value: target, detail: '' });
    }
    // E12 (restartPolicy, restartPolicyRules) and the rest of upstream's allow-list.
    for (const f of forbiddenEphemeralFields(ec)) errs.push(fieldErrors.forbidden(`${path}.${f}`, FORBIDDEN_EPHEMERAL));
    (ec.volumeMounts ?? []).forEach((vm, j) => {
      if (vm.subPath) errs.push(fieldErrors.forbidden(`${path}.volumeMounts[${j}].subPath`, FORBIDDEN_EPHEMERAL));
    });
  });
}

// ---------------------------------------------------------------- pod

function validatePodSpec(pod: Pod, errs: Errs): void {
  const spec = pod.spec;
  const gracePeriod = spec.terminationGracePeriodSeconds;
  if (gracePeriod === undefined) errs.push(fieldErrors.required('spec.terminationGracePeriodSeconds', ''));
  const volumes = validateVolumes(spec.volumes ?? [], errs);
  validateContainers(pod, volumes, gracePeriod, errs);
  validateInitContainers(pod, volumes, gracePeriod, errs);
  validateEphemeralContainers(pod, volumes, errs);
  const rp = (spec.restartPolicy as string | undefined) ?? '';
  if (rp === '') errs.push(fieldErrors.required('spec.restartPolicy', ''));
  else if (rp !== 'Always' && rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(fieldErrors.notSupported('spec.restartPolicy', rp, ['Always', 'OnFailure', 'Never']));
  }
  (spec.readinessGates ?? []).forEach((g, i) => {
    const ct = g.conditionType ?? '';
    for (const m of isQualifiedName(ct)) errs.push(fieldErrors.invalid(`spec.readinessGates[${i}].conditionType`, ct, m));
  });
  if (spec.nodeName) for (const m of isDNS1123Subdomain(spec.nodeName)) errs.push(fieldErrors.invalid('spec.nodeName', spec.nodeName, m));
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && (ads < 1 || ads > INT32_MAX)) {
    errs.push(fieldErrors.invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(1, INT32_MAX)));
  }
  if (spec.hostname) for (const m of isDNS1123Label(spec.hostname)) errs.push(fieldErrors.invalid('spec.hostname', spec.hostname, m));
}

/** API warnings the server attaches to an accepted pod (`pkg/api/pod/warnings.go`, subset). */
function podWarnings(pod: Pod): string[] {
  const warnings: string[] = [];
  const visit: { c: Container; path: string }[] = [
    ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, path: `spec.initContainers[${i}]` })),
    ...(pod.spec.containers ?? []).map((c, i) => ({ c, path: `spec.containers[${i}]` })),
    ...(pod.spec.ephemeralContainers ?? []).map((c, i) => ({ c, path: `spec.ephemeralContainers[${i}]` })),
  ];
  for (const { c, path } of visit) {
    const seen = new Set<string>();
    (c.env ?? []).forEach((ev, i) => {
      const name = ev.name ?? '';
      if (!seen.has(name)) {
        seen.add(name);
        return;
      }
      const ref = `$(${name})`;
      const value = ev.value ?? '';
      if (value === ref || !value.includes(ref)) {
        warnings.push(`${path}.env[${i}]: hides previous definition of ${JSON.stringify(name)}, which may be dropped when using apply`);
      }
    });
  }
  const ports = new Map<string, { path: string; port: ContainerPort }[]>();
  for (const { c, path } of visit) {
    (c.ports ?? []).forEach((port, i) => {
      const p = `${path}.ports[${i}]`;
      const key = `${port.containerPort ?? 0}/${port.protocol ?? ''}`;
      const others = ports.get(key) ?? [];
      for (const other of others) {
        const hp = port.hostPort ?? 0;
        const ohp = other.port.hostPort ?? 0;
        const ip = port.hostIP ?? '';
        const oip = other.port.hostIP ?? '';
        if (ip === oip && hp === ohp) warnings.push(`${p}: duplicate port definition with ${other.path}`);
        else if (hp === 0 || ohp === 0) warnings.push(`${p}: overlapping port definition with ${other.path}`);
        else if (hp === ohp && (ip === '') !== (oip === '')) warnings.push(`${p}: dangerously ambiguous port definition with ${other.path}`);
      }
      others.push({ path: p, port });
      ports.set(key, others);
    });
  }
  return warnings;
}

/**
 * Validates a (decoded, defaulted) pod as a Kubernetes 1.36 API server would on create
 * (`opts.create`, default) or for an existing pod, plus podvisor's annotations. Returns every
 * error in the API server's order and the API warnings. Never throws.
 */
export function validatePod(pod: Pod, opts: PodValidationOptions = {}): ValidationResult {
  const create = opts.create ?? true;
  const errors: Errs = [];
  const safe: Pod = { ...pod, metadata: pod.metadata ?? {}, spec: pod.spec ?? { containers: [] } };
  validateObjectMeta(safe, errors);
  const ann = validatePodvisorAnnotations(safe.metadata.annotations, { allowManaged: opts.allowManaged ?? false });
  errors.push(...ann.errors);
  validatePodSpec(safe, errors);
  (safe.spec.containers ?? []).forEach((c, i) => validateImageWhitespace(c, `spec.containers[${i}]`, errors));
  (safe.spec.initContainers ?? []).forEach((c, i) => validateImageWhitespace(c, `spec.initContainers[${i}]`, errors));
  if (create && (safe.spec.ephemeralContainers ?? []).length > 0) {
    errors.push(fieldErrors.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  }
  return { errors, warnings: [...ann.warnings, ...podWarnings(safe)] };
}

// ================================================================ unmodelled fields (D11)
//
// Fields podvisor drops (`nodeSelector`, `tolerations`, `securityContext`, ...) must still hold
// values a 1.36 API server accepts. The decoder type-checks them and calls
// `validateUnmodelledFields` with what it kept aside; the rules and messages below follow
// `ValidateObjectMeta`, `ValidatePodSpec`, `validateContainerCommon` and `ValidatePodCreate` in
// kubernetes/kubernetes `pkg/apis/core/validation/validation.go` (and the meta/v1 helpers), in
// the same order, with the feature gates of a default 1.36 API server.

/** Go's `%#v` of a `[]string`, as upstream shows list values: `[]string{"a", "b"}`. */
export function goStrings(values: readonly string[]): VerbatimValue {
  return new VerbatimValue(`[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`);
}

/**
 * A struct value. Upstream prints Go's `%#v`, which for structs with pointer fields contains
 * memory addresses; podvisor shows the JSON object instead (closest stable rendering).
 */
function structValue(v: unknown): VerbatimValue {
  return new VerbatimValue(JSON.stringify(v) ?? 'null');
}

// ---------------------------------------------------------------- IP addresses

/** Go's legacy `net.ParseIP` for IPv4 (`netutils.ParseIPSloppy`): leading zeros are accepted. */
function isSloppyIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^[0-9]+$/.test(p) && Number(p) <= 255);
}

/** Go's legacy `net.ParseIP` for IPv6 (no zone), with an optional trailing IPv4 part. */
function isSloppyIPv6(s: string): boolean {
  if (!s.includes(':')) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | undefined => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return false;
  const all = [...head, ...tail];
  let words = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? '';
    if (i === all.length - 1 && g.includes('.')) {
      if (!isSloppyIPv4(g)) return false;
      words += 2;
    } else if (/^[0-9a-fA-F]+$/.test(g) && parseInt(g, 16) <= 0xffff) {
      words += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? words < 8 : words === 8;
}

const INVALID_IP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/** `IsValidIPForLegacyField` without strict checks (`StrictIPCIDRValidation` is off by default). */
function validateIP(ip: string, path: string, errs: Errs): void {
  if (!isSloppyIPv4(ip) && !isSloppyIPv6(ip)) errs.push(fieldErrors.invalid(path, ip, INVALID_IP));
}

// ---------------------------------------------------------------- metadata

const BANNED_OWNER = { apiVersion: 'v1', kind: 'Event' };

/** `ValidateOwnerReferences`: errors name the list path without the index (upstream's). */
export function validateOwnerReferences(refs: readonly OwnerReference[], errs: Errs): void {
  const path = 'metadata.ownerReferences';
  let firstController = '';
  for (const ref of refs) {
    const apiVersion = ref.apiVersion ?? '';
    const kind = ref.kind ?? '';
    // schema.FromAPIVersionAndKind: "v1" or "group/version"; anything else has no version.
    const parts = apiVersion.split('/');
    const version = parts.length === 1 ? (parts[0] ?? '') : parts.length === 2 ? (parts[1] ?? '') : '';
    const group = parts.length === 2 ? (parts[0] ?? '') : '';
    if (version === '') errs.push(fieldErrors.invalid(`${path}.apiVersion`, apiVersion, 'version must not be empty'));
    if (kind === '') errs.push(fieldErrors.invalid(`${path}.kind`, kind, 'kind must not be empty'));
    if (!ref.name) errs.push(fieldErrors.invalid(`${path}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errs.push(fieldErrors.invalid(`${path}.uid`, ref.uid ?? '', 'uid must not be empty'));
    if (group === '' && version === BANNED_OWNER.apiVersion && kind === BANNED_OWNER.kind) {
      errs.push(fieldErrors.invalid(path, structValue(ref), `/${version}, Kind=${kind} is disallowed from being an owner`));
    }
    if (ref.controller === true) {
      const name = `${kind}/${ref.name ?? ''}`;
      if (firstController !== '') {
        errs.push(
          fieldErrors.invalid(
            path,
            structValue(refs),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${name}`,
          ),
        );
      } else {
        firstController = name;
      }
    }
  }
}

/** Finalizer names Kubernetes defines without a domain prefix (`IsStandardFinalizerName`). */
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** `ValidateFinalizers`, then core's `validateKubeFinalizerName` for each finalizer. */
function validateFinalizers(finalizers: readonly string[], errs: Errs): void {
  const path = 'metadata.finalizers';
  for (const f of finalizers) validateLabelName(f, path, errs);
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(fieldErrors.invalid(path, goStrings(finalizers), 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  for (const f of finalizers) {
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f)) {
      errs.push(fieldErrors.invalid(path, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  }
}

// ---------------------------------------------------------------- security contexts

function validateUserID(v: number | undefined, path: string, errs: Errs): void {
  if (v !== undefined && (v < 0 || v > INT32_MAX)) errs.push(fieldErrors.invalid(path, v, inclusiveRangeError(0, INT32_MAX)));
}
// User and group IDs have the same range (`IsValidUserID`, `IsValidGroupID`).
const validateGroupID = validateUserID;

/** `validateSeccompProfileField`. */
function validateSeccompProfile(sp: SeccompProfile | undefined, path: string, errs: Errs): void {
  if (!sp) return;
  const type = sp.type ?? '';
  if (type === '') errs.push(fieldErrors.required(`${path}.type`, 'type is required when seccompProfile is set'));
  else if (!['Localhost', 'RuntimeDefault', 'Unconfined'].includes(type)) {
    errs.push(fieldErrors.notSupported(`${path}.type`, type, ['Localhost', 'RuntimeDefault', 'Unconfined']));
  }
  if (type === 'Localhost') {
    if (sp.localhostProfile === undefined) {
      errs.push(fieldErrors.required(`${path}.localhostProfile`, 'must be set when seccomp type is Localhost'));
    } else {
      validateLocalDescendingPath(sp.localhostProfile, `${path}.localhostProfile`, errs);
    }
  } else if (sp.localhostProfile !== undefined) {
    errs.push(fieldErrors.invalid(`${path}.localhostProfile`, structValue(sp), 'can only be set when seccomp type is Localhost'));
  }
}

const MAX_LOCALHOST_PROFILE_LENGTH = 4095; // PATH_MAX - 1

/** `ValidateAppArmorProfileField`. */
function validateAppArmorProfile(p: AppArmorProfile | undefined, path: string, errs: Errs): void {
  if (!p) return;
  const type = p.type ?? '';
  const lp = p.localhostProfile;
  if (type === 'Localhost') {
    if (lp === undefined) {
      errs.push(fieldErrors.required(`${path}.localhostProfile`, 'must be set when AppArmor type is Localhost'));
    } else {
      if (lp.trim() !== lp) errs.push(fieldErrors.invalid(`${path}.localhostProfile`, lp, 'must not be padded with whitespace'));
      else if (lp === '') errs.push(fieldErrors.required(`${path}.localhostProfile`, 'must be set when AppArmor type is Localhost'));
      if (byteLength(lp) > MAX_LOCALHOST_PROFILE_LENGTH) errs.push(fieldErrors.tooLong(`${path}.localhostProfile`, MAX_LOCALHOST_PROFILE_LENGTH));
    }
  } else if (type === 'RuntimeDefault' || type === 'Unconfined') {
    if (lp !== undefined) errs.push(fieldErrors.invalid(`${path}.localhostProfile`, lp, 'can only be set when AppArmor type is Localhost'));
  } else if (type === '') {
    errs.push(fieldErrors.required(`${path}.type`, 'type is required when appArmorProfile is set'));
  } else {
    errs.push(fieldErrors.notSupported(`${path}.type`, type, ['Localhost', 'RuntimeDefault', 'Unconfined']));
  }
}

const MAX_GMSA_CREDENTIAL_SPEC_KIB = 64;
const MAX_RUN_AS_USER_NAME_DOMAIN = 256;
const MAX_RUN_AS_USER_NAME_USER = 104;
// The patterns of upstream's `validateWindowsSecurityContextOptions`.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;
const NETBIOS_DOMAIN = /^[^\\/:*?"<>|.][^\\/:*?"<>|]{0,14}$/;
const DNS_LABEL_ANY_CASE = '[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const DNS_DOMAIN = new RegExp(`^${DNS_LABEL_ANY_CASE}(?:\\.${DNS_LABEL_ANY_CASE})*$`);
const INVALID_USER_CHARS = /["/\\:;|=,+*?<>@[\]]/;
const ONLY_DOTS_SPACES = /^[. ]+$/;

/** `validateWindowsSecurityContextOptions`. */
function validateWindowsOptions(w: WindowsSecurityContextOptions | undefined, path: string, errs: Errs): void {
  if (!w) return;
  if (w.gmsaCredentialSpecName !== undefined) {
    for (const m of isDNS1123Subdomain(w.gmsaCredentialSpecName)) {
      errs.push(fieldErrors.invalid(`${path}.gmsaCredentialSpecName`, w.gmsaCredentialSpecName, m));
    }
  }
  const spec = w.gmsaCredentialSpec;
  if (spec !== undefined) {
    const p = `${path}.gmsaCredentialSpec`;
    if (spec === '') errs.push(fieldErrors.invalid(p, spec, 'gmsaCredentialSpec cannot be an empty string'));
    else if (byteLength(spec) > MAX_GMSA_CREDENTIAL_SPEC_KIB * 1024) {
      errs.push(fieldErrors.invalid(p, spec, `gmsaCredentialSpec size must be under ${MAX_GMSA_CREDENTIAL_SPEC_KIB} KiB`));
    }
  }
  const name = w.runAsUserName;
  if (name === undefined) return;
  const p = `${path}.runAsUserName`;
  const bad = (m: string): void => {
    errs.push(fieldErrors.invalid(p, name, m));
  };
  if (name === '') return bad('runAsUserName cannot be an empty string');
  if (CONTROL_CHARS.test(name)) return bad('runAsUserName cannot contain control characters');
  const parts = name.split('\\');
  if (parts.length > 2) return bad('runAsUserName cannot contain more than one backslash');
  const hasDomain = parts.length === 2;
  const domain = hasDomain ? (parts[0] ?? '') : '';
  const user = hasDomain ? (parts[1] ?? '') : (parts[0] ?? '');
  if (byteLength(domain) >= MAX_RUN_AS_USER_NAME_DOMAIN) {
    bad(`runAsUserName's Domain length must be under ${MAX_RUN_AS_USER_NAME_DOMAIN} characters`);
  }
  if (hasDomain && !NETBIOS_DOMAIN.test(domain) && !DNS_DOMAIN.test(domain)) {
    bad("runAsUserName's Domain doesn't match the NetBios nor the DNS format");
  }
  if (user === '') bad("runAsUserName's User cannot be empty");
  else if (byteLength(user) > MAX_RUN_AS_USER_NAME_USER) {
    bad(`runAsUserName's User length must not be longer than ${MAX_RUN_AS_USER_NAME_USER} characters`);
  }
  if (ONLY_DOTS_SPACES.test(user)) bad("runAsUserName's User cannot contain only periods or spaces");
  if (INVALID_USER_CHARS.test(user)) bad('runAsUserName\'s User cannot contain the following characters: "/\\:;|=,+*?<>@[]');
}

/** `ValidateSecurityContext` (containers); `privileged` is allowed (`--allow-privileged=true`, as in kind and kubeadm). */
function validateContainerSecurityContext(sc: SecurityContext | undefined, hostUsers: boolean, path: string, errs: Errs): void {
  if (!sc) return;
  validateUserID(sc.runAsUser, `${path}.runAsUser`, errs);
  validateGroupID(sc.runAsGroup, `${path}.runAsGroup`, errs);
  if (sc.procMount !== undefined) {
    if (sc.procMount !== 'Default' && sc.procMount !== 'Unmasked') {
      errs.push(fieldErrors.notSupported(`${path}.procMount`, sc.procMount, ['Default', 'Unmasked']));
    }
    if (hostUsers && sc.procMount === 'Unmasked') {
      errs.push(fieldErrors.invalid(`${path}.procMount`, sc.procMount, '`hostUsers` must be false to use `Unmasked`'));
    }
  }
  validateSeccompProfile(sc.seccompProfile, `${path}.seccompProfile`, errs);
  if (sc.allowPrivilegeEscalation === false) {
    if (sc.privileged === true) {
      errs.push(fieldErrors.invalid(path, structValue(sc), 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    }
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap === 'CAP_SYS_ADMIN') {
        errs.push(fieldErrors.invalid(path, structValue(sc), 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
      }
    }
  }
  validateWindowsOptions(sc.windowsOptions, `${path}.windowsOptions`, errs);
  validateAppArmorProfile(sc.appArmorProfile, `${path}.appArmorProfile`, errs);
}

const SYSCTL_SEGMENT = '[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const SYSCTL_NAME = `^(${SYSCTL_SEGMENT}[\\./])*${SYSCTL_SEGMENT}$`;
const SYSCTL_NAME_RE = new RegExp(SYSCTL_NAME);
const SYSCTL_MAX_LENGTH = 253;

/** The namespace a sysctl belongs to (component-helpers `sysctl.GetNamespace`), for the host checks. */
function sysctlNamespace(name: string): 'net' | 'ipc' | undefined {
  // NormalizeName: a name whose first separator is '/' uses '/' for '.' and vice versa.
  const sep = name.search(/[./]/);
  const n = sep >= 0 && name[sep] === '/' ? name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/')) : name;
  if (n === 'kernel.sem' || n.startsWith('kernel.shm') || n.startsWith('kernel.msg') || n.startsWith('fs.mqueue.')) return 'ipc';
  if (n.startsWith('net.')) return 'net';
  return undefined;
}

/** `validateSysctls`; namespaced sysctls are refused for pods sharing the host's namespace. */
function validateSysctls(sysctls: readonly Sysctl[], spec: UnmodelledPodSpec, path: string, errs: Errs): void {
  const names = new Set<string>();
  sysctls.forEach((s, i) => {
    const p = `${path}[${i}].name`;
    const name = s.name ?? '';
    if (name === '') errs.push(fieldErrors.required(p, ''));
    else if (byteLength(name) > SYSCTL_MAX_LENGTH || !SYSCTL_NAME_RE.test(name)) {
      errs.push(fieldErrors.invalid(p, name, `must have at most ${SYSCTL_MAX_LENGTH} characters and match regex ${SYSCTL_NAME}`));
    } else if (names.has(name)) errs.push(fieldErrors.duplicate(p, name));
    const ns = sysctlNamespace(name);
    if (spec.hostNetwork === true && ns === 'net') errs.push(fieldErrors.invalid(p, name, "may not be specified when 'hostNetwork' is true"));
    else if (spec.hostIPC === true && ns === 'ipc') errs.push(fieldErrors.invalid(p, name, "may not be specified when 'hostIPC' is true"));
    names.add(name);
  });
}

/**
 * `validatePodSpecSecurityContext`. Upstream keeps hostNetwork/hostPID/hostIPC and
 * shareProcessNamespace in the internal pod security context, which always exists, so the
 * shareProcessNamespace/hostPID rule applies without `spec.securityContext` too.
 */
function validatePodSecurityContext(spec: UnmodelledPodSpec, shareProcessNamespace: boolean | undefined, errs: Errs): void {
  const path = 'spec.securityContext';
  const sc = spec.securityContext ?? {};
  validateGroupID(sc.fsGroup, `${path}.fsGroup`, errs);
  validateUserID(sc.runAsUser, `${path}.runAsUser`, errs);
  validateGroupID(sc.runAsGroup, `${path}.runAsGroup`, errs);
  (sc.supplementalGroups ?? []).forEach((g, i) => validateGroupID(g, `${path}.supplementalGroups[${i}]`, errs));
  if (shareProcessNamespace === true && spec.hostPID === true) {
    errs.push(fieldErrors.invalid(`${path}.shareProcessNamespace`, true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  }
  if ((sc.sysctls ?? []).length > 0) validateSysctls(sc.sysctls ?? [], spec, `${path}.sysctls`, errs);
  const fsgcp = sc.fsGroupChangePolicy;
  if (fsgcp !== undefined && fsgcp !== 'Always' && fsgcp !== 'OnRootMismatch') {
    errs.push(fieldErrors.notSupported(`${path}.fsGroupChangePolicy`, fsgcp, ['Always', 'OnRootMismatch']));
  }
  validateSeccompProfile(sc.seccompProfile, `${path}.seccompProfile`, errs);
  validateWindowsOptions(sc.windowsOptions, `${path}.windowsOptions`, errs);
  validateAppArmorProfile(sc.appArmorProfile, `${path}.appArmorProfile`, errs);
  const sgp = sc.supplementalGroupsPolicy;
  if (sgp !== undefined && sgp !== 'Merge' && sgp !== 'Strict') {
    errs.push(fieldErrors.notSupported(`${path}.supplementalGroupsPolicy`, sgp, ['Merge', 'Strict']));
  }
  const slcp = sc.seLinuxChangePolicy;
  if (slcp !== undefined && slcp !== 'MountOption' && slcp !== 'Recursive') {
    errs.push(fieldErrors.notSupported(`${path}.seLinuxChangePolicy`, slcp, ['MountOption', 'Recursive']));
  }
}

// ---------------------------------------------------------------- containers

/** `validateResizePolicy`; most errors name the list, not the entry (upstream's paths). */
function validateResizePolicy(policies: readonly ContainerResizePolicy[], podRestartPolicy: string, path: string, errs: Errs): void {
  const seen = new Set<string>();
  policies.forEach((rp, i) => {
    const name = rp.resourceName ?? '';
    // ResourceName is a Stringer upstream: it renders unquoted.
    if (seen.has(name)) errs.push(fieldErrors.duplicate(`${path}[${i}]`, new VerbatimValue(name)));
    seen.add(name);
    if (name === '') errs.push(fieldErrors.required(path, ''));
    else if (name !== 'cpu' && name !== 'memory') errs.push(fieldErrors.notSupported(path, new VerbatimValue(name), ['cpu', 'memory']));
    const policy = rp.restartPolicy ?? '';
    if (policy === '') errs.push(fieldErrors.required(path, ''));
    else if (policy !== 'NotRequired' && policy !== 'RestartContainer') {
      errs.push(fieldErrors.notSupported(path, policy, ['NotRequired', 'RestartContainer']));
    }
    if (podRestartPolicy === 'Never' && policy !== 'NotRequired') {
      errs.push(fieldErrors.invalid(path, policy, "must be 'NotRequired' when `restartPolicy` is 'Never'"));
    }
  });
}

// ---------------------------------------------------------------- scheduling

/** `ValidateTolerations`. */
function validateTolerations(tolerations: readonly Toleration[], errs: Errs): void {
  tolerations.forEach((t, i) => {
    const p = `spec.tolerations[${i}]`;
    const key = t.key ?? '';
    const op = t.operator ?? '';
    const effect = t.effect ?? '';
    const value = t.value ?? '';
    if (key !== '') validateLabelName(key, `${p}.key`, errs);
    // An empty key with operator Exists (and no value) matches every taint.
    if (key === '' && op !== 'Exists') {
      errs.push(fieldErrors.invalid(`${p}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && effect !== 'NoExecute') {
      errs.push(fieldErrors.invalid(`${p}.effect`, effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op === 'Equal' || op === '') {
      // Upstream reports a bad value on the operator path, its messages joined by ';'.
      const msgs = isValidLabelValue(value);
      if (msgs.length > 0) errs.push(fieldErrors.invalid(`${p}.operator`, value, msgs.join(';')));
    } else if (op === 'Exists') {
      if (value !== '') errs.push(fieldErrors.invalid(`${p}.operator`, value, "value must be empty when `operator` is 'Exists'"));
    } else {
      errs.push(fieldErrors.notSupported(`${p}.operator`, op, ['Equal', 'Exists']));
    }
    if (effect !== '' && effect !== 'NoSchedule' && effect !== 'PreferNoSchedule' && effect !== 'NoExecute') {
      errs.push(fieldErrors.notSupported(`${p}.effect`, effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    }
  });
}

/** `ValidateLabelSelector` (meta/v1) with invalid label values refused (a create). */
function validateLabelSelector(sel: LabelSelector | undefined, path: string, errs: Errs): void {
  if (!sel) return;
  validateLabels(sel.matchLabels ?? {}, `${path}.matchLabels`, errs);
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    const op = req.operator ?? '';
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(fieldErrors.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(fieldErrors.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      errs.push(fieldErrors.invalid(`${p}.operator`, op, 'not a valid selector operator'));
    }
    validateLabelName(req.key ?? '', `${p}.key`, errs);
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(fieldErrors.invalid(`${p}.values[${j}]`, v, m));
    });
  });
}

/** `ValidateNodeSelectorRequirement` (`matchExpressions`); `checkValues` is false for preferred terms. */
function validateNodeSelectorRequirement(req: NodeSelectorRequirement, checkValues: boolean, path: string, errs: Errs): void {
  const values = req.values ?? [];
  const op = req.operator ?? '';
  if (op === 'In' || op === 'NotIn') {
    if (values.length === 0) errs.push(fieldErrors.required(`${path}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
  } else if (op === 'Exists' || op === 'DoesNotExist') {
    if (values.length > 0) errs.push(fieldErrors.forbidden(`${path}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  } else if (op === 'Gt' || op === 'Lt') {
    if (values.length !== 1) errs.push(fieldErrors.required(`${path}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
  } else {
    errs.push(fieldErrors.invalid(`${path}.operator`, op, 'not a valid selector operator'));
  }
  validateLabelName(req.key ?? '', `${path}.key`, errs);
  if (checkValues) {
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(fieldErrors.invalid(`${path}.values[${j}]`, v, m));
    });
  }
}

/** `ValidateNodeFieldSelectorRequirement` (`matchFields`): only `metadata.name` with one value. */
function validateNodeFieldSelectorRequirement(req: NodeSelectorRequirement, path: string, errs: Errs): void {
  const values = req.values ?? [];
  const op = req.operator ?? '';
  if (op === 'In' || op === 'NotIn') {
    if (values.length !== 1) {
      errs.push(fieldErrors.required(`${path}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    }
  } else {
    errs.push(fieldErrors.invalid(`${path}.operator`, op, 'not a valid selector operator'));
  }
  const key = req.key ?? '';
  if (key !== 'metadata.name') {
    errs.push(fieldErrors.invalid(`${path}.key`, key, 'not a valid field selector key'));
  } else {
    values.forEach((v, j) => {
      for (const m of nameIsDNSSubdomain(v, false)) errs.push(fieldErrors.invalid(`${path}.values[${j}]`, v, m));
    });
  }
}

function validateNodeSelectorTerm(term: NodeSelectorTerm, checkValues: boolean, path: string, errs: Errs): void {
  (term.matchExpressions ?? []).forEach((r, j) => validateNodeSelectorRequirement(r, checkValues, `${path}.matchExpressions[${j}]`, errs));
  (term.matchFields ?? []).forEach((r, j) => validateNodeFieldSelectorRequirement(r, `${path}.matchFields[${j}]`, errs));
}

function validateWeight(weight: number | undefined, path: string, errs: Errs): void {
  const w = weight ?? 0;
  if (w <= 0 || w > 100) errs.push(fieldErrors.invalid(path, w, 'must be in the range 1-100'));
}

/** `validateNodeAffinity`. */
function validateNodeAffinity(na: NodeAffinity, path: string, errs: Errs): void {
  const required = na.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const p = `${path}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    const terms = required.nodeSelectorTerms ?? [];
    if (terms.length === 0) errs.push(fieldErrors.required(p, 'must have at least one node selector term'));
    terms.forEach((t, i) => validateNodeSelectorTerm(t, true, `${p}[${i}]`, errs));
  }
  (na.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
    const p = `${path}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    validateWeight(t.weight, `${p}.weight`, errs);
    // Preferred terms may hold invalid label values (they only rank nodes).
    validateNodeSelectorTerm(t.preference ?? {}, false, `${p}.preference`, errs);
  });
}

/** Label keys of `matchLabelKeys`/`mismatchLabelKeys`: need a label selector, must be label names. */
function validateLabelKeys(keys: readonly string[], selector: LabelSelector | undefined, path: string, errs: Errs): void {
  if (keys.length === 0) return;
  if (!selector) {
    errs.push(fieldErrors.forbidden(path, 'must not be specified when labelSelector is not set'));
    return;
  }
  keys.forEach((k, i) => validateLabelName(k, `${path}[${i}]`, errs));
}

/** `validatePodAffinityTerm`. */
function validatePodAffinityTerm(term: PodAffinityTerm, path: string, errs: Errs): void {
  validateLabelSelector(term.labelSelector, `${path}.labelSelector`, errs);
  validateLabelSelector(term.namespaceSelector, `${path}.namespaceSelector`, errs);
  // Upstream names the list `namespace` here (sic).
  for (const ns of term.namespaces ?? []) for (const m of isDNS1123Label(ns)) errs.push(fieldErrors.invalid(`${path}.namespace`, ns, m));
  const matchKeys = term.matchLabelKeys ?? [];
  validateLabelKeys(matchKeys, term.labelSelector, `${path}.matchLabelKeys`, errs);
  validateLabelKeys(term.mismatchLabelKeys ?? [], term.labelSelector, `${path}.mismatchLabelKeys`, errs);
  const mismatch = new Set(term.mismatchLabelKeys ?? []);
  matchKeys.forEach((k, i) => {
    if (mismatch.has(k)) errs.push(fieldErrors.invalid(`${path}.matchLabelKeys[${i}]`, k, 'exists in both matchLabelKeys and mismatchLabelKeys'));
  });
  const topologyKey = term.topologyKey ?? '';
  if (topologyKey === '') errs.push(fieldErrors.required(`${path}.topologyKey`, 'can not be empty'));
  validateLabelName(topologyKey, `${path}.topologyKey`, errs);
}

/** `validatePodAffinity` and `validatePodAntiAffinity` (same rules). */
function validatePodAffinity(pa: PodAffinity, path: string, errs: Errs): void {
  (pa.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) =>
    validatePodAffinityTerm(t, `${path}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`, errs),
  );
  (pa.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
    const p = `${path}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    validateWeight(t.weight, `${p}.weight`, errs);
    validatePodAffinityTerm(t.podAffinityTerm ?? {}, `${p}.podAffinityTerm`, errs);
  });
}

function validateAffinity(a: Affinity | undefined, errs: Errs): void {
  if (!a) return;
  if (a.nodeAffinity) validateNodeAffinity(a.nodeAffinity, 'spec.affinity.nodeAffinity', errs);
  if (a.podAffinity) validatePodAffinity(a.podAffinity, 'spec.affinity.podAffinity', errs);
  if (a.podAntiAffinity) validatePodAffinity(a.podAntiAffinity, 'spec.affinity.podAntiAffinity', errs);
}

/** `validateTopologySpreadConstraints`. */
function validateTopologySpreadConstraints(constraints: readonly TopologySpreadConstraint[], errs: Errs): void {
  constraints.forEach((c, i) => {
    const p = `spec.topologySpreadConstraints[${i}]`;
    const maxSkew = c.maxSkew ?? 0;
    if (maxSkew <= 0) errs.push(fieldErrors.invalid(`${p}.maxSkew`, maxSkew, 'must be greater than zero'));
    const key = c.topologyKey ?? '';
    if (key === '') errs.push(fieldErrors.required(`${p}.topologyKey`, 'can not be empty'));
    const action = c.whenUnsatisfiable ?? '';
    if (action !== 'DoNotSchedule' && action !== 'ScheduleAnyway') {
      errs.push(fieldErrors.notSupported(`${p}.whenUnsatisfiable`, action, ['DoNotSchedule', 'ScheduleAnyway']));
    }
    // {topologyKey, whenUnsatisfiable} identifies a constraint; upstream reports the first of two.
    if (constraints.slice(i + 1).some((o) => (o.topologyKey ?? '') === key && (o.whenUnsatisfiable ?? '') === action)) {
      errs.push(fieldErrors.duplicate(`${p}.{topologyKey, whenUnsatisfiable}`, `{${key}, ${action}}`));
    }
    if (c.minDomains !== undefined) {
      if (c.minDomains <= 0) errs.push(fieldErrors.invalid(`${p}.minDomains`, c.minDomains, 'must be greater than zero'));
      if (action !== 'DoNotSchedule') {
        errs.push(fieldErrors.invalid(`${p}.minDomains`, c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${action}`));
      }
    }
    for (const f of ['nodeAffinityPolicy', 'nodeTaintsPolicy'] as const) {
      const policy = c[f];
      if (policy !== undefined && policy !== 'Honor' && policy !== 'Ignore') {
        errs.push(fieldErrors.notSupported(`${p}.${f}`, policy, ['Honor', 'Ignore']));
      }
    }
    const matchKeys = c.matchLabelKeys ?? [];
    if (matchKeys.length > 0 && !c.labelSelector) {
      errs.push(fieldErrors.forbidden(`${p}.matchLabelKeys`, 'must not be specified when labelSelector is not set'));
    }
    matchKeys.forEach((k, j) => validateLabelName(k, `${p}.matchLabelKeys[${j}]`, errs));
    validateLabelSelector(c.labelSelector, `${p}.labelSelector`, errs);
  });
}

/** `validateSchedulingGates`: qualified names, no duplicates. */
function validateSchedulingGates(gates: readonly PodSchedulingGate[], errs: Errs): void {
  const seen = new Set<string>();
  gates.forEach((g, i) => {
    const p = `spec.schedulingGates[${i}]`;
    const name = g.name ?? '';
    validateLabelName(name, p, errs);
    if (seen.has(name)) errs.push(fieldErrors.duplicate(p, name));
    seen.add(name);
  });
}

// ---------------------------------------------------------------- DNS and host

const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const MAX_DNS_NAMESERVERS = 3;
const MAX_DNS_SEARCH_PATHS = 32;
const MAX_DNS_SEARCH_LIST_CHARS = 2048;
const DNS1123_LABEL_UNDERSCORE = '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_UNDERSCORE = `${DNS1123_LABEL_UNDERSCORE}(\\.${DNS1123_LABEL_UNDERSCORE})*`;
const DNS1123_SUBDOMAIN_UNDERSCORE_RE = new RegExp(`^${DNS1123_SUBDOMAIN_UNDERSCORE}$`);

/** `IsDNS1123SubdomainWithUnderscore` (search domains, `RelaxedDNSSearchValidation` is GA). */
function isDNS1123SubdomainWithUnderscore(value: string): string[] {
  const out: string[] = [];
  if (byteLength(value) > 253) out.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_UNDERSCORE_RE.test(value)) {
    out.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_UNDERSCORE,
        'example.com',
      ),
    );
  }
  return out;
}

/** `validateDNSPolicy`; an empty policy is defaulted to `ClusterFirst` before validation. */
function validateDNSPolicy(policy: string | undefined, errs: Errs): void {
  if (policy !== undefined && policy !== '' && !DNS_POLICIES.includes(policy)) {
    errs.push(fieldErrors.notSupported('spec.dnsPolicy', policy, DNS_POLICIES));
  }
}

/** `validatePodDNSConfig`: `dnsPolicy: None` needs a config with a nameserver; limits of libc's resolver. */
function validateDNSConfig(config: PodDNSConfig | undefined, policy: string | undefined, errs: Errs): void {
  const path = 'spec.dnsConfig';
  if (policy === 'None') {
    if (!config) {
      errs.push(fieldErrors.required(path, 'must provide `dnsConfig` when `dnsPolicy` is None'));
      return;
    }
    if ((config.nameservers ?? []).length === 0) {
      errs.push(fieldErrors.required(`${path}.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
      return;
    }
  }
  if (!config) return;
  const nameservers = config.nameservers ?? [];
  if (nameservers.length > MAX_DNS_NAMESERVERS) {
    errs.push(fieldErrors.invalid(`${path}.nameservers`, goStrings(nameservers), `must not have more than ${MAX_DNS_NAMESERVERS} nameservers`));
  }
  nameservers.forEach((ns, i) => validateIP(ns, `${path}.nameservers[${i}]`, errs));
  const searches = config.searches ?? [];
  if (searches.length > MAX_DNS_SEARCH_PATHS) {
    errs.push(fieldErrors.invalid(`${path}.searches`, goStrings(searches), `must not have more than ${MAX_DNS_SEARCH_PATHS} search paths`));
  }
  if (byteLength(searches.join(' ')) > MAX_DNS_SEARCH_LIST_CHARS) {
    errs.push(
      fieldErrors.invalid(`${path}.searches`, goStrings(searches), `must not have more than ${MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list`),
    );
  }
  searches.forEach((search, i) => {
    // "." (the root) is allowed; a trailing dot (a fully qualified name) is ignored.
    if (search === '.') return;
    const s = search.endsWith('.') ? search.slice(0, -1) : search;
    for (const m of isDNS1123SubdomainWithUnderscore(s)) errs.push(fieldErrors.invalid(`${path}.searches[${i}]`, s, m));
  });
  (config.options ?? []).forEach((o, i) => {
    if (!o.name) errs.push(fieldErrors.required(`${path}.options[${i}]`, 'must not be empty'));
  });
}

function validateHostAliases(aliases: readonly HostAlias[], errs: Errs): void {
  aliases.forEach((a, i) => {
    const p = `spec.hostAliases[${i}]`;
    validateIP(a.ip ?? '', `${p}.ip`, errs);
    (a.hostnames ?? []).forEach((h, j) => {
      for (const m of isDNS1123Subdomain(h)) errs.push(fieldErrors.invalid(`${p}.hostnames[${j}]`, h, m));
    });
  });
}

/** `validatePodHostNetworkDeps`: with the host's network a port is the host's port. */
function validateHostNetworkPorts(spec: UnmodelledPodSpec, containers: readonly Container[], errs: Errs): void {
  if (spec.hostNetwork !== true) return;
  containers.forEach((c, i) => {
    (c.ports ?? []).forEach((port, j) => {
      // The API server defaults an unset hostPort to containerPort for host-network pods.
      const hp = port.hostPort ?? 0;
      if (hp !== 0 && hp !== port.containerPort) {
        errs.push(fieldErrors.invalid(`spec.containers[${i}].ports[${j}].hostPort`, hp, 'must match `containerPort` when `hostNetwork` is true'));
      }
    });
  });
}

/** `validateHostUsers`: a user namespace excludes the host's namespaces (paths as upstream, sic). */
function validateHostUsers(spec: UnmodelledPodSpec, errs: Errs): void {
  if (spec.hostUsers !== false) return;
  const detail = 'when `pod.Spec.HostUsers` is false';
  if (spec.hostNetwork === true) errs.push(fieldErrors.forbidden('spec.hostNetwork', detail));
  if (spec.hostPID === true) errs.push(fieldErrors.forbidden('spec.HostPID', detail));
  if (spec.hostIPC === true) errs.push(fieldErrors.forbidden('spec.HostIPC', detail));
}

// ---------------------------------------------------------------- OS

/** A container with its path and unmodelled fields, in upstream's visiting order (init, regular, ephemeral). */
interface VisitedContainer {
  path: string;
  u: UnmodelledContainer;
}

function visitContainers(u: UnmodelledFields): VisitedContainer[] {
  return [
    ...u.initContainers.map((c, i) => ({ path: `spec.initContainers[${i}]`, u: c })),
    ...u.containers.map((c, i) => ({ path: `spec.containers[${i}]`, u: c })),
    ...u.ephemeralContainers.map((c, i) => ({ path: `spec.ephemeralContainers[${i}]`, u: c })),
  ];
}

/** `validateWindowsHostProcessPod`: hostProcess is all-or-nothing and needs the host's network. */
function validateWindowsHostProcess(u: UnmodelledFields, errs: Errs): void {
  const podHP = u.spec.securityContext?.windowsOptions?.hostProcess;
  let count = 0;
  let hostProcessCount = 0;
  for (const { path, u: c } of visitContainers(u)) {
    count++;
    const hp = c.securityContext?.windowsOptions?.hostProcess;
    if (podHP !== undefined && hp !== undefined && podHP !== hp) {
      errs.push(
        fieldErrors.invalid(`${path}.securityContext.windowsOptions.hostProcess`, hp, `pod hostProcess value must be identical if both are specified, was ${podHP}`),
      );
    }
    if (hp === true || (hp === undefined && podHP === true)) hostProcessCount++;
  }
  if (hostProcessCount === 0) return;
  if (hostProcessCount !== count) {
    errs.push(fieldErrors.invalid('spec', '', 'If pod contains any hostProcess containers then all containers must be HostProcess containers'));
  }
  if (u.spec.hostNetwork !== true) {
    errs.push(fieldErrors.invalid('spec.hostNetwork', false, 'hostNetwork must be true if pod contains any hostProcess containers'));
  }
}

const WINDOWS_FORBIDDEN = 'cannot be set for a windows pod';

/** `validateWindows`: Linux-only settings are refused for `os.name: windows`. */
function validateWindowsPod(u: UnmodelledFields, shareProcessNamespace: boolean | undefined, errs: Errs): void {
  const spec = u.spec;
  const sc = spec.securityContext ?? {};
  const no = (path: string): void => {
    errs.push(fieldErrors.forbidden(path, WINDOWS_FORBIDDEN));
  };
  const scp = 'spec.securityContext';
  if (sc.appArmorProfile) no(`${scp}.appArmorProfile`);
  if (sc.seLinuxOptions) no(`${scp}.seLinuxOptions`);
  if (spec.hostUsers !== undefined) no('spec.hostUsers');
  if (spec.hostPID === true) no('spec.hostPID');
  if (spec.hostIPC === true) no('spec.hostIPC');
  if (sc.seccompProfile) no(`${scp}.seccompProfile`);
  if (sc.fsGroup !== undefined) no(`${scp}.fsGroup`);
  if (sc.fsGroupChangePolicy !== undefined) no(`${scp}.fsGroupChangePolicy`);
  if ((sc.sysctls ?? []).length > 0) no(`${scp}.sysctls`);
  if (shareProcessNamespace !== undefined) no('spec.shareProcessNamespace');
  if (sc.runAsUser !== undefined) no(`${scp}.runAsUser`);
  if (sc.runAsGroup !== undefined) no(`${scp}.runAsGroup`);
  if (sc.supplementalGroups !== undefined) no(`${scp}.supplementalGroups`);
  if (sc.supplementalGroupsPolicy !== undefined) no(`${scp}.supplementalGroupsPolicy`);
  if (sc.seLinuxChangePolicy !== undefined) no(`${scp}.seLinuxChangePolicy`);
  for (const { path, u: c } of visitContainers(u)) {
    const csc = c.securityContext;
    if (!csc) continue;
    const p = `${path}.securityContext`;
    if (csc.appArmorProfile) no(`${p}.appArmorProfile`);
    if (csc.seLinuxOptions) no(`${p}.seLinuxOptions`);
    if (csc.seccompProfile) no(`${p}.seccompProfile`);
    if (csc.capabilities) no(`${p}.capabilities`);
    if (csc.readOnlyRootFilesystem !== undefined) no(`${p}.readOnlyRootFilesystem`);
    if (csc.privileged !== undefined) no(`${p}.privileged`);
    if (csc.allowPrivilegeEscalation !== undefined) no(`${p}.allowPrivilegeEscalation`);
    if (csc.procMount !== undefined) no(`${p}.procMount`);
    if (csc.runAsUser !== undefined) no(`${p}.runAsUser`);
    if (csc.runAsGroup !== undefined) no(`${p}.runAsGroup`);
  }
}

/** `validateOS`, then `validateLinux` or `validateWindows`. */
function validateOS(u: UnmodelledFields, shareProcessNamespace: boolean | undefined, errs: Errs): void {
  const os = u.spec.os;
  if (!os) return;
  const name = os.name ?? '';
  if (name === '') {
    errs.push(fieldErrors.required('spec.os.name', 'cannot be empty'));
    return;
  }
  if (name !== 'linux' && name !== 'windows') {
    // Upstream reports it on `spec.os`, not `spec.os.name`.
    errs.push(fieldErrors.notSupported('spec.os', name, ['linux', 'windows']));
    return;
  }
  if (name === 'windows') {
    validateWindowsPod(u, shareProcessNamespace, errs);
    return;
  }
  const linuxOnly = 'windows options cannot be set for a linux pod';
  if (u.spec.securityContext?.windowsOptions) errs.push(fieldErrors.forbidden('spec.securityContext.windowsOptions', linuxOnly));
  for (const { path, u: c } of visitContainers(u)) {
    if (c.securityContext?.windowsOptions) errs.push(fieldErrors.forbidden(`${path}.securityContext.windowsOptions`, linuxOnly));
  }
}

// ---------------------------------------------------------------- entry point

/** A name that must be a DNS subdomain (`serviceAccountName`, `priorityClassName`, `runtimeClassName`). */
function validateSubdomainName(name: string, path: string, errs: Errs): void {
  for (const m of nameIsDNSSubdomain(name, false)) errs.push(fieldErrors.invalid(path, name, m));
}

/**
 * The API server's rules for the fields podvisor does not model (D11), given the decoded pod
 * (for the modelled fields some rules look at) and the type-checked unmodelled values. Returns
 * the errors in the API server's order: metadata, then per container `resizePolicy` and
 * `securityContext`, then the pod spec fields in `ValidatePodSpec` order, then create-only
 * rules. Never throws.
 */
export function validateUnmodelledFields(pod: Pod, u: UnmodelledFields): FieldError[] {
  const errs: Errs = [];
  const spec = pod.spec ?? { containers: [] };
  const us = u.spec;

  // ObjectMeta (after labels and annotations, which validatePod checks).
  validateOwnerReferences(u.metadata.ownerReferences ?? [], errs);
  validateFinalizers(u.metadata.finalizers ?? [], errs);

  // validateContainerCommon: resizePolicy, securityContext (per kind), then the ephemeral allow-list.
  const podRestartPolicy = (spec.restartPolicy as string | undefined) || 'Always';
  const hostUsers = us.hostUsers ?? true;
  const kinds: [string, UnmodelledContainer[]][] = [
    ['spec.containers', u.containers],
    ['spec.initContainers', u.initContainers],
    ['spec.ephemeralContainers', u.ephemeralContainers],
  ];
  for (const [listPath, list] of kinds) {
    list.forEach((c, i) => {
      const path = `${listPath}[${i}]`;
      if (c.resizePolicy) validateResizePolicy(c.resizePolicy, podRestartPolicy, `${path}.resizePolicy`, errs);
      validateContainerSecurityContext(c.securityContext, hostUsers, `${path}.securityContext`, errs);
      if (listPath === 'spec.ephemeralContainers' && c.resizePolicy !== undefined) {
        errs.push(fieldErrors.forbidden(`${path}.resizePolicy`, FORBIDDEN_EPHEMERAL));
      }
    });
  }

  // ValidatePodSpec, in its order.
  if (us.resources?.claims !== undefined) {
    errs.push(fieldErrors.forbidden('spec.resources.claims', 'claims cannot be set for Resources at pod-level'));
  }
  validateHostNetworkPorts(us, spec.containers ?? [], errs);
  validateDNSPolicy(us.dnsPolicy, errs);
  validateLabels(us.nodeSelector ?? {}, 'spec.nodeSelector', errs);
  validatePodSecurityContext(us, spec.shareProcessNamespace, errs);
  validateAffinity(us.affinity, errs);
  validateDNSConfig(us.dnsConfig, us.dnsPolicy, errs);
  validateSchedulingGates(us.schedulingGates ?? [], errs);
  validateTopologySpreadConstraints(us.topologySpreadConstraints ?? [], errs);
  validateWindowsHostProcess(u, errs);
  validateHostUsers(us, errs);
  // The deprecated `serviceAccount` is an alias used when `serviceAccountName` is empty.
  const serviceAccountName = us.serviceAccountName || us.serviceAccount || '';
  if (serviceAccountName !== '') validateSubdomainName(serviceAccountName, 'spec.serviceAccountName', errs);
  if (us.subdomain) for (const m of isDNS1123Label(us.subdomain)) errs.push(fieldErrors.invalid('spec.subdomain', us.subdomain, m));
  validateTolerations(us.tolerations ?? [], errs);
  validateHostAliases(us.hostAliases ?? [], errs);
  if (us.priorityClassName) validateSubdomainName(us.priorityClassName, 'spec.priorityClassName', errs);
  // A pointer upstream: an explicit "" is validated (and refused).
  if (us.runtimeClassName !== undefined) validateSubdomainName(us.runtimeClassName, 'spec.runtimeClassName', errs);
  const pp = us.preemptionPolicy;
  if (pp === '') errs.push(fieldErrors.required('spec.preemptionPolicy', ''));
  else if (pp !== undefined && pp !== 'PreemptLowerPriority' && pp !== 'Never') {
    errs.push(fieldErrors.notSupported('spec.preemptionPolicy', pp, ['PreemptLowerPriority', 'Never']));
  }
  // Overhead is checked as container limits (`validateOverhead`).
  if (us.overhead) validateResources({ name: '', resources: { limits: us.overhead } }, 'spec.overhead', errs);
  validateOS(u, spec.shareProcessNamespace, errs);

  // ValidatePodCreate.
  if (spec.nodeName && (us.schedulingGates ?? []).length > 0) {
    errs.push(fieldErrors.forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  }
  return errs;
}
