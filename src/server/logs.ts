/**
 * `GET …/pods/{name}/log`: container selection, the kubelet's log options (`previous`,
 * `follow`, `tailLines`, `timestamps`, `limitBytes`, `sinceSeconds`, `sinceTime`) and the
 * errors for missing logs. Streaming the file is `log-stream.ts`.
 */
import { parseRfc3339Nano } from '../api/cri-log.js';
import type { FieldError, Status } from '../api/errors.js';
import type { Pod } from '../api/types.js';
import { queryBool } from './request.js';
import { badRequest, invalid } from './status.js';

/** Parsed log query parameters. */
export interface LogOptions {
  container?: string;
  previous: boolean;
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** Epoch ns: only records at or after this time (from `sinceSeconds` or `sinceTime`). */
  sinceNs?: bigint;
}

/**
 * Parses the log query; a malformed option gives the 422 `Status` the API server returns.
 * `now` (epoch ms) anchors `sinceSeconds`; `sinceTime` is RFC 3339 with up to nanoseconds.
 * `previous`, `follow` and `timestamps` are booleans as the API server converts them
 * ({@link queryBool}): Python's client sends `follow=True`, which is true.
 */
export function parseLogOptions(q: URLSearchParams, podName: string, now: number): LogOptions | Status {
  const errs: FieldError[] = [];
  const int = (name: string, min: number, detail: string): number | undefined => {
    const raw = q.get(name);
    if (raw === null || raw === '') return undefined;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
      errs.push({ type: 'Invalid', field: name, value: raw, detail: 'must be an integer' });
      return undefined;
    }
    if (n < min) {
      errs.push({ type: 'Invalid', field: name, value: n, detail });
      return undefined;
    }
    return n;
  };
  const opts: LogOptions = { previous: queryBool(q, 'previous'), follow: queryBool(q, 'follow'), timestamps: queryBool(q, 'timestamps') };
  const c = q.get('container');
  if (c !== null && c !== '') opts.container = c;
  const tail = int('tailLines', 0, 'must be greater than or equal to 0');
  if (tail !== undefined) opts.tailLines = tail;
  const limit = int('limitBytes', 1, 'must be greater than 0');
  if (limit !== undefined) opts.limitBytes = limit;
  const sinceSeconds = int('sinceSeconds', 1, 'must be greater than 0');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) errs.push({ type: 'Forbidden', field: '', detail: 'at most one of `sinceTime` or `sinceSeconds` may be specified' });
  else if (sinceSeconds !== undefined) opts.sinceNs = (BigInt(Math.floor(now)) - BigInt(sinceSeconds) * 1000n) * 1_000_000n;
  else if (sinceTime) {
    const t = parseRfc3339Nano(sinceTime);
    if (t === undefined) return badRequest(`parsing time ${JSON.stringify(sinceTime)} as RFC3339: cannot parse`);
    opts.sinceNs = t;
  }
  if (errs.length > 0) return invalid('PodLogOptions', podName, errs);
  return opts;
}

/**
 * Which container a log request means, as the API server decides (`pod.LogLocation`): the named
 * one if the pod has it, else the only regular container; otherwise a 400 `Status`. The restart
 * verb checks a named container with it too.
 */
export function resolveLogContainer(pod: Pod, container: string | undefined): string | Status {
  const name = pod.metadata.name ?? '';
  const regular = pod.spec.containers.map((c) => c.name);
  const init = (pod.spec.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec.ephemeralContainers ?? []).map((c) => c.name);
  if (container === undefined) {
    if (regular.length === 1) return regular[0] as string;
    if (regular.length === 0) return badRequest(`a container name must be specified for pod ${name}`);
    let msg = `a container name must be specified for pod ${name}, choose one of: [${regular.join(' ')}]`;
    if (init.length > 0) msg += ` or one of the init containers: [${init.join(' ')}]`;
    if (ephemeral.length > 0) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    return badRequest(msg);
  }
  if (![...regular, ...init, ...ephemeral].includes(container)) return badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

/** The 400 the kubelet gives when there is no log to show (`validateContainerLogStatus`). */
export function missingLogStatus(pod: Pod, container: string, previous: boolean): Status {
  const name = pod.metadata.name ?? '';
  if (previous) return badRequest(`previous terminated container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} not found`);
  const st = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])].find((s) => s.name === container);
  const reason = st?.state.waiting?.reason || (st?.state.terminated || st?.state.running ? undefined : 'ContainerCreating');
  if (reason === 'ErrImagePull') return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: image can't be pulled`);
  if (reason === 'ImagePullBackOff') return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: trying and failing to pull image`);
  if (reason !== undefined) return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is waiting to start: ${reason}`);
  return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(name)} is not available`);
}
