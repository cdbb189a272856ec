/**
 * What a pod's references to ConfigMaps, Secrets and the downward API resolve to on the node
 * (pure): a container's environment and the files of its configMap, secret, downwardAPI and
 * projected volumes, with the kubelet's semantics and messages.
 *
 * - {@link resolveContainerEnv} mirrors `makeEnvironmentVariables` (pkg/kubelet/kubelet_pods.go):
 *   `envFrom` first, then `env` in order, a later definition replacing an earlier one; `$(VAR)`
 *   in a `value` expands to a variable defined before it (`$$` escapes, an unknown reference stays
 *   as written: `expansion.MappingFuncFor`); keys of `envFrom` are taken as they are (the 1.36
 *   kubelet checks none); a missing object or key is a `CreateContainerConfigError` with the
 *   kubelet's message unless `optional`, which skips the variable. Only a ConfigMap's `data` is
 *   read for env, never its `binaryData` (as upstream). Service link variables are not made
 *   (podvisor has no Services).
 * - {@link volumeFiles} mirrors the volume plugins (pkg/volume/configmap, secret, downwardapi,
 *   projected): `items` select and rename keys, `mode` over `defaultMode` (0644), an `optional`
 *   missing object is an empty volume, labels and annotations render as `FormatMap` does
 *   (sorted `key="value"` lines, values quoted as Go's `%q`); a failure is the kubelet's
 *   `FailedMount` event text.
 *
 * The ConfigMap and Secret shapes are structural (`metadata`, `data`, `binaryData`), so that any
 * stored object type with those members can be looked up.
 */
import type { Container, DownwardAPIVolumeFile, KeyToPath, ObjectMeta, Pod, Quantity, Volume } from '../api/types.js';
import { convertDownwardAPIFieldLabel, DEFAULT_VOLUME_FILE_MODE } from '../api/validation-refs.js';
import { cleanPath, containerResourceValue, decodeBase64, extractFieldPath, findContainer, withAllocatableLimits } from './config-values.js';

export { formatDownwardMap, goQuote } from './config-values.js';

/** A ConfigMap as the lookups return it: `data` is text, `binaryData` base64. */
export interface ConfigMapLike {
  metadata: ObjectMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** A Secret as the lookups return it: `data` is base64. */
export interface SecretLike {
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

/** The objects of the pod's namespace: `undefined` when the object does not exist. */
export interface ConfigLookups {
  configMap(namespace: string, name: string): ConfigMapLike | undefined;
  secret(namespace: string, name: string): SecretLike | undefined;
}

/** What volume files need besides the objects: the node's allocatable resources (limits default to them). */
export interface VolumeContext extends ConfigLookups {
  /** The node's allocatable (or capacity) resources, e.g. `{ cpu: '8', memory: '16Gi' }`. */
  nodeAllocatable: Readonly<Record<string, Quantity>>;
}

/** What a container's environment needs besides the pod: node facts and the pod's addresses. */
export interface EnvContext extends VolumeContext {
  /** The pod's IPs, in the node's family preference order (`status.podIP` is the first). */
  podIPs: readonly string[];
  /** The node's IPs (`status.hostIP` is the first). */
  hostIPs: readonly string[];
  /** `spec.nodeName` as the pod sees it. */
  nodeName: string;
  /** `spec.serviceAccountName` (not modelled in the pod): `""` when not given. */
  serviceAccountName?: string;
}

/** One environment variable. */
export interface EnvPair {
  name: string;
  value: string;
}

/** Result of {@link resolveContainerEnv}. */
export type EnvResult = { env: EnvPair[] } | { error: { reason: 'CreateContainerConfigError'; message: string } };

/** One file of a volume: a clean relative path, its content and its permission bits. */
export interface VolumeFile {
  path: string;
  data: Uint8Array;
  mode: number;
}

/** Result of {@link volumeFiles}: `message` is the kubelet's event text, `cause` the plugin's error. */
export type VolumeFilesResult = { files: VolumeFile[] } | { error: { reason: 'FailedMount'; message: string; cause: string } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------- env

/** `expansion.Expand`: `$(NAME)` is replaced by `mapping(NAME)`, `$$` is a literal `$`, anything else stays. */
export function expandEnvReferences(input: string, mapping: (name: string) => string): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) out += '$(';
      else {
        out += mapping(input.slice(cursor + 2, close));
        advance = close - cursor;
      }
    } else {
      out += `$${next ?? ''}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/**
 * The environment of `container` (a member of `pod`) as the kubelet builds it, or the
 * `CreateContainerConfigError` that keeps it from starting. Variables come in the order of their
 * first definition: `envFrom` sources in order (each object's keys sorted), then `env`.
 */
export function resolveContainerEnv(pod: Pod, container: Container, ctx: EnvContext): EnvResult {
  const ns = pod.metadata?.namespace ?? '';
  const fail = (message: string): EnvResult => ({ error: { reason: 'CreateContainerConfigError', message } });
  const env = new Map<string, string>();
  const configMaps = new Map<string, ConfigMapLike | undefined>();
  const secrets = new Map<string, SecretLike | undefined>();
  const configMap = (name: string): ConfigMapLike | undefined => {
    if (!configMaps.has(name)) configMaps.set(name, ctx.configMap(ns, name));
    return configMaps.get(name);
  };
  const secret = (name: string): SecretLike | undefined => {
    if (!secrets.has(name)) secrets.set(name, ctx.secret(ns, name));
    return secrets.get(name);
  };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: Record<string, string>;
    let decode: (v: string) => string;
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = configMap(name);
      if (!cm) {
        if (from.configMapRef.optional === true) continue;
        return fail(`configmap ${JSON.stringify(name)} not found`);
      }
      data = cm.data ?? {};
      decode = (v) => v;
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const s = secret(name);
      if (!s) {
        if (from.secretRef.optional === true) continue;
        return fail(`secret ${JSON.stringify(name)} not found`);
      }
      data = s.data ?? {};
      decode = (v) => decoder.decode(decodeBase64(v));
    } else {
      continue;
    }
    for (const k of Object.keys(data).sort()) env.set(prefix + k, decode(data[k] ?? ''));
  }

  const mapping = (name: string): string => env.get(name) ?? `$(${name})`;
  let defaulted: { pod: Container[]; container: Container } | undefined;
  for (const ev of container.env ?? []) {
    let value = ev.value ?? '';
    const from = ev.valueFrom;
    if (value !== '') {
      value = expandEnvReferences(value, mapping);
    } else if (from?.fieldRef) {
      const conv = convertDownwardAPIFieldLabel(from.fieldRef.apiVersion || 'v1', from.fieldRef.fieldPath ?? '');
      if ('error' in conv) return fail(conv.error);
      const direct: Record<string, string | undefined> = {
        'spec.nodeName': ctx.nodeName,
        'spec.serviceAccountName': ctx.serviceAccountName ?? '',
        'status.hostIP': ctx.hostIPs[0] ?? '',
        'status.hostIPs': ctx.hostIPs.join(','),
        'status.podIP': ctx.podIPs[0] ?? '',
        'status.podIPs': ctx.podIPs.join(','),
      };
      const d = Object.prototype.hasOwnProperty.call(direct, conv.path) ? direct[conv.path] : undefined;
      const r = d !== undefined ? { value: d } : extractFieldPath(pod, conv.path);
      if ('error' in r) return fail(r.error);
      value = r.value;
    } else if (from?.resourceFieldRef) {
      // defaultPodLimitsForDownwardAPI: the pod's regular containers and this one get the node's allocatable as limits.
      defaulted ??= {
        pod: (pod.spec?.containers ?? []).map((c) => withAllocatableLimits(c, ctx.nodeAllocatable)),
        container: withAllocatableLimits(container, ctx.nodeAllocatable),
      };
      const fs = from.resourceFieldRef;
      let target: Container | undefined = defaulted.container;
      if (fs.containerName) {
        target = findContainer(defaulted.pod, pod.spec?.initContainers ?? [], fs.containerName);
        if (!target) return fail(`container ${fs.containerName} not found`);
      }
      const r = containerResourceValue(fs, target);
      if ('error' in r) return fail(r.error);
      value = r.value;
    } else if (from?.configMapKeyRef) {
      const { name = '', key = '', optional } = from.configMapKeyRef;
      const cm = configMap(name);
      if (!cm) {
        if (optional === true) continue;
        return fail(`configmap ${JSON.stringify(name)} not found`);
      }
      const data = cm.data ?? {};
      if (!Object.prototype.hasOwnProperty.call(data, key)) {
        if (optional === true) continue;
        return fail(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
      }
      value = data[key] ?? '';
    } else if (from?.secretKeyRef) {
      const { name = '', key = '', optional } = from.secretKeyRef;
      const s = secret(name);
      if (!s) {
        if (optional === true) continue;
        return fail(`secret ${JSON.stringify(name)} not found`);
      }
      const data = s.data ?? {};
      if (!Object.prototype.hasOwnProperty.call(data, key)) {
        if (optional === true) continue;
        return fail(`couldn't find key ${key} in Secret ${ns}/${name}`);
      }
      value = decoder.decode(decodeBase64(data[key] ?? ''));
    }
    env.set(ev.name ?? '', value);
  }
  return { env: [...env].map(([name, value]) => ({ name, value })) };
}

// ---------------------------------------------------------------- volumes

type Payload = Map<string, VolumeFile>;

function put(payload: Payload, path: string, data: Uint8Array, mode: number): void {
  const p = cleanPath(path);
  payload.set(p, { path: p, data, mode });
}

/** `configmap.MakePayload` / `secret.MakePayload`: every key (no items) or the listed ones; the error for a missing listed key. */
function keyPayload(
  payload: Payload,
  items: readonly KeyToPath[] | undefined,
  entries: ReadonlyMap<string, Uint8Array>,
  defaultMode: number,
  optional: boolean,
  missing: (key: string) => string,
): string | undefined {
  if (!items || items.length === 0) {
    for (const [k, data] of entries) put(payload, k, data, defaultMode);
    return undefined;
  }
  for (const kp of items) {
    const data = entries.get(kp.key ?? '');
    if (!data) {
      if (optional) continue;
      return missing(kp.key ?? '');
    }
    put(payload, kp.path ?? '', data, kp.mode ?? defaultMode);
  }
  return undefined;
}

function configMapEntries(cm: ConfigMapLike | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const data = cm?.data ?? {};
  const binary = cm?.binaryData ?? {};
  for (const k of Object.keys(data).sort()) out.set(k, encoder.encode(data[k] ?? ''));
  for (const k of Object.keys(binary).sort()) if (!out.has(k)) out.set(k, decodeBase64(binary[k] ?? ''));
  return out;
}

function secretEntries(s: SecretLike | undefined): Map<string, Uint8Array> {
  const data = s?.data ?? {};
  return new Map(Object.keys(data).sort().map((k) => [k, decodeBase64(data[k] ?? '')]));
}

/** `downwardapi.CollectData`: the files, and the errors of the files that could not be made. */
function downwardPayload(payload: Payload, items: readonly DownwardAPIVolumeFile[] | undefined, pod: Pod, ctx: VolumeContext, defaultMode: number): string[] {
  const errs: string[] = [];
  for (const f of items ?? []) {
    let r: { value: string } | { error: string } | undefined;
    if (f.fieldRef) {
      r = extractFieldPath(pod, f.fieldRef.fieldPath ?? '');
    } else if (f.resourceFieldRef) {
      const name = f.resourceFieldRef.containerName ?? '';
      const c = findContainer(pod.spec?.containers ?? [], pod.spec?.initContainers ?? [], name);
      r = c ? containerResourceValue(f.resourceFieldRef, withAllocatableLimits(c, ctx.nodeAllocatable)) : { error: `container ${name} not found` };
    }
    if (r && 'error' in r) errs.push(r.error);
    else put(payload, f.path ?? '', encoder.encode(r?.value ?? ''), f.mode ?? defaultMode);
  }
  return errs;
}

/** `utilerrors.NewAggregate(...).Error()`: one message as is, several distinct ones in brackets. */
function aggregate(errs: readonly string[]): string {
  const unique = [...new Set(errs)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

/**
 * The files of a configMap, secret, downwardAPI or projected volume of `pod`, as the kubelet
 * would write them (sorted by path; a later source of a projected volume replaces an earlier
 * file of the same path), or the `FailedMount` that keeps the pod's containers from starting.
 * `undefined` for the other volume types (emptyDir, hostPath), whose content podvisor does not
 * write.
 */
export function volumeFiles(pod: Pod, volume: Volume, ctx: VolumeContext): VolumeFilesResult | undefined {
  const ns = pod.metadata?.namespace ?? '';
  const payload: Payload = new Map();
  const errs: string[] = [];
  const cmMissing = (name: string): string => `configmap ${JSON.stringify(name)} not found`;
  const secretMissing = (name: string): string => `secret ${JSON.stringify(name)} not found`;
  const cmKey = (k: string): string => `configmap references non-existent config key: ${k}`;
  const secretKey = (k: string): string => `references non-existent secret key: ${k}`;
  if (volume.configMap) {
    const { name = '', items, optional = false, defaultMode = DEFAULT_VOLUME_FILE_MODE } = volume.configMap;
    const cm = ctx.configMap(ns, name);
    if (!cm && !optional) errs.push(cmMissing(name));
    else pushIf(errs, keyPayload(payload, items, configMapEntries(cm), defaultMode, optional, cmKey));
  } else if (volume.secret) {
    const { secretName = '', items, optional = false, defaultMode = DEFAULT_VOLUME_FILE_MODE } = volume.secret;
    const s = ctx.secret(ns, secretName);
    if (!s && !optional) errs.push(secretMissing(secretName));
    else pushIf(errs, keyPayload(payload, items, secretEntries(s), defaultMode, optional, secretKey));
  } else if (volume.downwardAPI) {
    errs.push(...downwardPayload(payload, volume.downwardAPI.items, pod, ctx, volume.downwardAPI.defaultMode ?? DEFAULT_VOLUME_FILE_MODE));
  } else if (volume.projected) {
    const mode = volume.projected.defaultMode ?? DEFAULT_VOLUME_FILE_MODE;
    for (const src of volume.projected.sources ?? []) {
      if (src.secret) {
        const { name = '', items, optional = false } = src.secret;
        const s = ctx.secret(ns, name);
        if (!s && !optional) errs.push(secretMissing(name));
        else pushIf(errs, keyPayload(payload, items, secretEntries(s), mode, optional, secretKey));
      } else if (src.configMap) {
        const { name = '', items, optional = false } = src.configMap;
        const cm = ctx.configMap(ns, name);
        if (!cm && !optional) errs.push(cmMissing(name));
        else pushIf(errs, keyPayload(payload, items, configMapEntries(cm), mode, optional, cmKey));
      } else if (src.downwardAPI) {
        errs.push(...downwardPayload(payload, src.downwardAPI.items, pod, ctx, mode));
      }
    }
  } else {
    return undefined;
  }
  if (errs.length > 0) {
    const cause = aggregate(errs);
    return { error: { reason: 'FailedMount', message: `MountVolume.SetUp failed for volume ${JSON.stringify(volume.name ?? '')} : ${cause}`, cause } };
  }
  return { files: [...payload.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

function pushIf(errs: string[], e: string | undefined): void {
  if (e !== undefined) errs.push(e);
}
