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
 * Inside a container: name, image, terminationMessagePolicy, ports, env, volumeMounts,
 * imagePullPolicy, resources, then (by kind) duplicate name, lifecycle and probes (or E10),
 * and `restartPolicy`, rule count, each rule's `action`, `exitCodes`, `operator`, `values`.
 *
 * The pod is expected to be decoded (`decode.ts`) and defaulted (`defaults.ts`) first; the
 * checks are nevertheless defensive about missing fields and never throw.
 */
import type { Container, ContainerPort, EphemeralContainer, LifecycleHandler, Pod, Probe, Quantity, Volume } from './types.js';
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
  isRelaxedEnvVarName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
} from './names.js';
import { parseQuantity, quantityString } from './quantity.js';

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

function validateObjectMeta(pod: Pod, errs: Errs): void {
  const meta = pod.metadata ?? {};
  const name = meta.name ?? '';
  const generateName = meta.generateName ?? '';
  if (generateName !== '') {
    for (const m of nameIsDNSSubdomain(generateName, true)) errs.push(fieldErrors.invalid('metadata.generateName', generateName, m));
  }
  // The API server generates the name from generateName before validating; podvisor's store
  // does it after, so an empty name is only an error without generateName.
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
  const labels = meta.labels ?? {};
  for (const k of Object.keys(labels)) {
    for (const m of isQualifiedName(k)) errs.push(fieldErrors.invalid('metadata.labels', k, m));
    const v = labels[k] ?? '';
    for (const m of isValidLabelValue(v)) errs.push(fieldErrors.invalid('metadata.labels', v, m));
  }
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

function validateEnv(c: Container, path: string, errs: Errs): void {
  (c.env ?? []).forEach((ev, i) => {
    const p = `${path}[${i}].name`;
    const name = ev.name ?? '';
    if (name === '') errs.push(fieldErrors.required(p, ''));
    else for (const m of isRelaxedEnvVarName(name)) errs.push(fieldErrors.invalid(p, name, m));
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
  validateEnv(c, `${path}.env`, errs);
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
