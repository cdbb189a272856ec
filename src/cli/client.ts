/**
 * CLI verbs that talk to a running `podvisor serve`: apply, get, describe, logs, delete,
 * restart, recreate, history, kubeconfig. Where the daemon is and which CA and token to use is
 * resolved by `endpoint.ts` (flags, then `$PODVISOR_ENDPOINT`, then the data dir's
 * `endpoint.json`, then the default); the token comes from `--token`, else `PODVISOR_TOKEN`,
 * else the data dir's token file, which only `podvisor serve` creates: a client never does.
 * Requests go through `transport.ts`, which turns every failure to get an answer into one
 * line naming the fix.
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { formatRfc3339Nano, formatInvalidPod, parseGoDuration, parseRfc3339Nano, renderManifestError } from '../api/index.js';
import { formatInvalidObject, loadManifests, type LoadedObject, type LoadedPod } from '../api/load.js';
import { sameStringMap } from '../api/config-objects.js';
import { NAMESPACE_NAME_LABEL } from '../api/namespace.js';
import type { FullObjectMeta } from '../api/object-meta.js';
import type { Pod } from '../api/types.js';
import type { RestartNotice } from '../api/records.js';
import { resolveEndpoint, type ClientFlags, type Endpoint } from './endpoint.js';
import { request, stream, type Resp } from './transport.js';
import { shortAge } from '../api/printers.js';
import { colourStatus, formatTable, palette, podRow } from './view.js';

export type { ClientFlags } from './endpoint.js';

function statusMessage(r: Resp): string {
  try {
    const s = JSON.parse(r.body) as { message?: string; reason?: string; code?: number };
    if (s.reason === 'Invalid' && s.message) return `The ${s.message}`;
    return `Error from server (${s.reason ?? r.status}): ${s.message ?? r.body}`;
  } catch {
    return `Error from server (${r.status}): ${r.body}`;
  }
}

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);

/**
 * The endpoint of a verb, or undefined after printing the one-line reason there is none (the
 * verb then exits 1 without having sent anything). An invalid endpoint throws a
 * `ClientError`, which `main.ts` prints as one line.
 */
function connect(f: ClientFlags): Endpoint | undefined {
  const ep = resolveEndpoint(f);
  if ('missingToken' in ep) {
    err(`error: no token in ${ep.file}: start podvisor serve --data-dir ${ep.dataDir} first\n`);
    return undefined;
  }
  return ep;
}

function podsPath(ns: string, name?: string, sub?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
}

/** Options of `podvisor apply` besides the connection flags. */
export interface ApplyOptions {
  /** `-n` was given on the command line: an object naming another namespace is then an error, as for kubectl. */
  namespaceGiven?: boolean;
}

/** The API path of an object of a bundle (its collection without `name`). */
function objectPath(kind: LoadedObject['kind'], ns: string, name?: string): string {
  const tail = name ? `/${encodeURIComponent(name)}` : '';
  if (kind === 'Namespace') return `/api/v1/namespaces${tail}`;
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind === 'ConfigMap' ? 'configmaps' : 'secrets'}${tail}`;
}

/**
 * Whether the stored object `cur` already is what `o` asks for: labels and annotations (a
 * Namespace's name label, which the server sets, aside), and the content of the kind: a
 * ConfigMap's `data`, `binaryData` and `immutable`, a Secret's `data`, `type` and `immutable`.
 */
function sameObject(o: LoadedObject, cur: Record<string, unknown> & { metadata?: FullObjectMeta }): boolean {
  const meta = o.object.metadata;
  const labels = o.kind === 'Namespace' ? { ...meta.labels, [NAMESPACE_NAME_LABEL]: meta.name ?? '' } : meta.labels;
  if (!sameStringMap(labels, cur.metadata?.labels) || !sameStringMap(meta.annotations, cur.metadata?.annotations)) return false;
  const map = (v: unknown): Record<string, string> | undefined => (typeof v === 'object' && v !== null ? (v as Record<string, string>) : undefined);
  switch (o.kind) {
    case 'Namespace':
      return true;
    case 'ConfigMap':
      return sameStringMap(o.object.data, map(cur['data'])) && sameStringMap(o.object.binaryData, map(cur['binaryData'])) && (o.object.immutable ?? false) === (cur['immutable'] ?? false);
    case 'Secret':
      return sameStringMap(o.object.data, map(cur['data'])) && (o.object.type ?? 'Opaque') === (cur['type'] ?? 'Opaque') && (o.object.immutable ?? false) === (cur['immutable'] ?? false);
  }
}

/**
 * Creates `o`, or, when it exists, replaces its labels, annotations and content (an update
 * keeps the stored object's other metadata: uid, resourceVersion, ...). Prints kubectl's
 * `configmap/NAME created|configured|unchanged`, or the server's error; resolves whether it
 * succeeded.
 */
async function applyObject(ep: Endpoint, o: LoadedObject): Promise<boolean> {
  const ns = o.object.metadata.namespace ?? 'default';
  const what = o.kind.toLowerCase();
  const fail = (r: Resp): false => {
    err(`${statusMessage(r)}\n`);
    return false;
  };
  const create = async (): Promise<boolean> => {
    const r = await request(ep, 'POST', objectPath(o.kind, ns), o.object);
    if (r.status >= 300) return fail(r);
    const made = JSON.parse(r.body) as { metadata?: { name?: string } };
    out(`${what}/${made.metadata?.name ?? o.name} created\n`);
    return true;
  };
  // Only a create can name an object from its generateName.
  if (!o.object.metadata.name) return create();
  const cur = await request(ep, 'GET', objectPath(o.kind, ns, o.name));
  if (cur.status === 404) return create();
  if (cur.status >= 300) return fail(cur);
  const existing = JSON.parse(cur.body) as Record<string, unknown> & { metadata?: FullObjectMeta };
  if (sameObject(o, existing)) {
    out(`${what}/${o.name} unchanged\n`);
    return true;
  }
  const body = { ...o.object, metadata: { ...existing.metadata, labels: o.object.metadata.labels, annotations: o.object.metadata.annotations } };
  const r = await request(ep, 'PUT', objectPath(o.kind, ns, o.name), body);
  if (r.status >= 300) return fail(r);
  out(`${what}/${o.name} configured\n`);
  return true;
}

/** JSON with object keys sorted, so that two values compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return x;
    const o = x as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  });
}

/** Creates the pod, or updates its labels, annotations and spec (what may change); prints as kubectl. */
async function applyPod(ep: Endpoint, p: LoadedPod): Promise<boolean> {
  const ns = p.pod.metadata.namespace ?? 'default';
  const raw = { ...p.pod, metadata: { ...p.pod.metadata, namespace: ns } };
  const cur = await request(ep, 'GET', podsPath(ns, p.name));
  if (cur.status === 404) {
    const r = await request(ep, 'POST', podsPath(ns), raw);
    if (r.status >= 300) {
      err(`${statusMessage(r)}\n`);
      return false;
    }
    out(`pod/${p.name} created\n`);
    return true;
  }
  if (cur.status >= 300) {
    err(`${statusMessage(cur)}\n`);
    return false;
  }
  const existing = JSON.parse(cur.body) as Pod;
  // The node the pod is bound to is the server's to set (as the scheduler's on a cluster).
  const spec = raw.spec.nodeName === undefined && existing.spec.nodeName !== undefined ? { ...raw.spec, nodeName: existing.spec.nodeName } : raw.spec;
  const same = sameStringMap(existing.metadata.labels, raw.metadata.labels)
    && sameStringMap(existing.metadata.annotations, raw.metadata.annotations)
    && canonicalJson(existing.spec) === canonicalJson(spec);
  if (same) {
    out(`pod/${p.name} unchanged\n`);
    return true;
  }
  const r = await request(ep, 'PUT', podsPath(ns, p.name), { ...raw, spec, metadata: { ...existing.metadata, labels: raw.metadata.labels, annotations: raw.metadata.annotations } });
  if (r.status >= 300) {
    err(`${statusMessage(r)}\n`);
    return false;
  }
  out(`pod/${p.name} configured\n`);
  return true;
}

/**
 * `podvisor apply -f FILE...`: creates each object of the files, or updates it when it exists
 * (client-side apply: labels, annotations and content are replaced). A bundle is applied in
 * dependency order whatever the order in the files: Namespaces first, then ConfigMaps and
 * Secrets, then Pods. Objects without a namespace go to `-n` (default `default`); with `-n`
 * given, an object naming another namespace is refused, as kubectl refuses it. Every file is
 * read and checked before anything is sent; invalid objects are reported and skipped.
 * Exit code 1 when anything failed.
 */
export async function runApply(files: string[], f: ClientFlags, opts: ApplyOptions = {}): Promise<number> {
  const ep = connect(f);
  if (!ep) return 1;
  let code = 0;
  const requestNs = f.namespace || 'default';
  const namespaces: LoadedObject[] = [];
  const configs: LoadedObject[] = [];
  const pods: LoadedPod[] = [];
  // With -n given, an object of another namespace stops the whole apply (nothing is sent), as for kubectl.
  const mismatches = new Set<string>();
  const otherNamespace = (ns: string | undefined): boolean => {
    if (!opts.namespaceGiven || (ns ?? requestNs) === requestNs) return false;
    mismatches.add(`error: the namespace from the provided object ${JSON.stringify(ns)} does not match the namespace ${JSON.stringify(requestNs)}. You must pass '--namespace=${ns ?? ''}' to perform this operation.\n`);
    return true;
  };
  for (const file of files) {
    const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    const loaded = loadManifests(text, file, { namespace: requestNs });
    for (const e of loaded.errors) {
      err(`error: ${renderManifestError(e)}\n`);
      code = 1;
    }
    for (const o of loaded.objects) {
      for (const w of o.warnings) err(`Warning: ${w}\n`);
      if (o.errors.length > 0) {
        err(`${formatInvalidObject(o.kind, o.name, o.errors)}\n`);
        code = 1;
      } else if (o.kind === 'Namespace') namespaces.push(o);
      else if (!otherNamespace(o.object.metadata.namespace)) configs.push(o);
    }
    for (const p of loaded.pods) {
      if (p.errors.length > 0) {
        err(`${formatInvalidPod(p.name, p.errors)}\n`);
        code = 1;
      } else if (!otherNamespace(p.pod.metadata.namespace)) pods.push(p);
    }
  }
  if (mismatches.size > 0) {
    for (const m of mismatches) err(m);
    return 1;
  }
  for (const o of [...namespaces, ...configs]) if (!(await applyObject(ep, o))) code = 1;
  for (const p of pods) if (!(await applyPod(ep, p))) code = 1;
  return code;
}

/** `podvisor get pods [NAME] [-o wide|json|yaml] [-w]`. */
export async function runGet(name: string | undefined, opts: { output?: string; watch?: boolean }, f: ClientFlags): Promise<number> {
  const ep = connect(f);
  if (!ep) return 1;
  const ns = f.namespace ?? 'default';
  const r = await request(ep, 'GET', name ? podsPath(ns, name) : podsPath(ns));
  if (r.status >= 300) {
    err(`${statusMessage(r)}\n`);
    return 1;
  }
  const obj = JSON.parse(r.body) as Pod | { items: Pod[]; metadata: { resourceVersion: string } };
  if (opts.output === 'json' || opts.output === 'yaml') {
    const o = 'items' in obj ? { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: obj.items.map((p) => ({ ...p, apiVersion: 'v1', kind: 'Pod' })) } : obj;
    out(opts.output === 'json' ? `${JSON.stringify(o, null, 2)}\n` : stringify(o));
    return 0;
  }
  const pods = 'items' in obj ? obj.items : [obj];
  const wide = opts.output === 'wide';
  const p = palette(process.stdout.isTTY === true && !process.env['NO_COLOR']);
  const row = (pod: Pod): string[] => {
    const base = podRow(pod, Date.now());
    return wide ? [...base, pod.status?.podIP ?? '<none>', 'podvisor'] : base;
  };
  const header = wide ? ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE'] : ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  if (pods.length === 0 && !opts.watch) {
    err(`No resources found in ${ns} namespace.\n`);
    return 0;
  }
  const rows = [header, ...pods.map(row)];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((x) => (x[i] ?? '').length)));
  for (const [i, l] of formatTable(rows, widths).entries()) out(`${i === 0 ? l : l.replace(rows[i]![2] ?? '', colourStatus(p, rows[i]![2] ?? ''))}\n`);
  if (!opts.watch) return 0;
  const rv = 'items' in obj ? obj.metadata.resourceVersion : (obj.metadata.resourceVersion ?? '');
  const sel = name ? `&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}` : '';
  let buf = '';
  await stream(ep, `${podsPath(ns)}?watch=true&resourceVersion=${rv}${sel}`, (chunk) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() === '') continue;
      const e = JSON.parse(line) as { type: string; object: Pod };
      if (e.type === 'BOOKMARK' || e.type === 'ERROR') continue;
      const r2 = row(e.object);
      out(`${formatTable([r2], widths)[0]}\n`);
    }
  });
  return 0;
}

/** `podvisor describe pod NAME`: a kubectl-like description plus podvisor's restart records. */
export async function runDescribe(name: string, f: ClientFlags): Promise<number> {
  const ep = connect(f);
  if (!ep) return 1;
  const ns = f.namespace ?? 'default';
  const r = await request(ep, 'GET', podsPath(ns, name));
  if (r.status >= 300) {
    err(`${statusMessage(r)}\n`);
    return 1;
  }
  const pod = JSON.parse(r.body) as Pod;
  const st = pod.status ?? {};
  const lines: string[] = [];
  const kv = (k: string, v: string | undefined, indent = ''): void => void lines.push(`${indent}${`${k}:`.padEnd(18)}${v ?? '<none>'}`);
  kv('Name', pod.metadata.name);
  kv('Namespace', pod.metadata.namespace);
  kv('UID', pod.metadata.uid);
  kv('Start Time', st.startTime);
  kv('Labels', Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '<none>');
  kv('Status', st.phase);
  if (st.reason) kv('Reason', st.reason);
  if (st.message) kv('Message', st.message);
  kv('IP', st.podIP);
  const section = (title: string, statuses: typeof st.containerStatuses): void => {
    if (!statuses || statuses.length === 0) return;
    lines.push(`${title}:`);
    for (const c of statuses) {
      lines.push(`  ${c.name}:`);
      const state = (s: typeof c.state): string => s.running ? `Running (started ${s.running.startedAt ?? ''})` : s.terminated ? `Terminated: ${s.terminated.reason ?? ''}, exit code ${s.terminated.exitCode}${s.terminated.finishedAt ? `, finished ${s.terminated.finishedAt}` : ''}` : s.waiting ? `Waiting${s.waiting.reason ? `: ${s.waiting.reason}` : ''}${s.waiting.message ? ` (${s.waiting.message})` : ''}` : '<none>';
      kv('State', state(c.state), '    ');
      if (c.lastState.terminated) kv('Last State', state(c.lastState), '    ');
      kv('Ready', String(c.ready), '    ');
      kv('Restart Count', String(c.restartCount), '    ');
    }
  };
  section('Init Containers', st.initContainerStatuses);
  section('Containers', st.containerStatuses);
  lines.push('Conditions:');
  lines.push('  Type                        Status  Reason');
  for (const c of st.conditions ?? []) lines.push(`  ${c.type.padEnd(28)}${c.status.padEnd(8)}${c.reason ?? ''}`);
  const h = await request(ep, 'GET', `${podsPath(ns, name)}/restarts`);
  if (h.status === 200) {
    const list = (JSON.parse(h.body) as { items: RestartNotice[] }).items;
    lines.push('Restarts:');
    if (list.length === 0) lines.push('  <none>');
    for (const n of list.slice(-20)) lines.push(`  ${new Date(n.time).toISOString().slice(0, 19)}Z  ${n.level.padEnd(9)} ${n.container ?? ''}  ${n.description}`);
  }
  const ev = await request(ep, 'GET', `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.uid=${pod.metadata.uid ?? ''}`)}`);
  lines.push('Events:');
  type Ev = { type: string; reason: string; message: string; count?: number; firstTimestamp?: string; lastTimestamp?: string; involvedObject: { fieldPath?: string } };
  const events = ev.status === 200 ? (JSON.parse(ev.body) as { items: Ev[] }).items : [];
  if (events.length === 0) lines.push('  <none>');
  else {
    // As kubectl describe: oldest first by last occurrence; a repeated event shows `(x5 over 10m)`.
    const at = (t: string | undefined): number => (t ? Date.parse(t) : 0);
    const sorted = [...events].sort((a, b) => at(a.lastTimestamp) - at(b.lastTimestamp));
    const age = (e: Ev): string => {
      if (!e.lastTimestamp) return '';
      const last = shortAge(Date.now() - Date.parse(e.lastTimestamp));
      return (e.count ?? 1) > 1 && e.firstTimestamp ? `${last} (x${e.count} over ${shortAge(Date.now() - Date.parse(e.firstTimestamp))})` : last;
    };
    const rows = [['Type', 'Reason', 'Age', 'From', 'Message'], ...sorted.slice(-30).map((e) => [e.type, e.reason, age(e), 'podvisor', e.message])];
    for (const l of formatTable(rows)) lines.push(`  ${l}`);
  }
  out(`${lines.join('\n')}\n`);
  return 0;
}

/** Flags of `podvisor logs`, as commander hands them over. */
export interface LogsFlags {
  container?: string;
  previous?: boolean;
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  /** A Go duration (`5s`, `2m`, `1h30m`): only logs newer than that (`sinceSeconds`). */
  since?: string;
  /** An RFC 3339 time: only logs at or after it (`sinceTime`). */
  sinceTime?: string;
}

/**
 * The query of a log request for the flags, or the error message kubectl gives for a bad one.
 * As kubectl: `--since` is a Go duration sent as whole seconds (a fraction rounds up, `0`
 * means unset), and at most one of `--since` and `--since-time` may be given.
 */
export function logQuery(opts: LogsFlags): URLSearchParams | string {
  const q = new URLSearchParams();
  if (opts.container) q.set('container', opts.container);
  if (opts.previous) q.set('previous', 'true');
  if (opts.follow) q.set('follow', 'true');
  if (opts.tail !== undefined) q.set('tailLines', opts.tail);
  if (opts.timestamps) q.set('timestamps', 'true');
  let sinceMs = 0;
  if (opts.since !== undefined) {
    const ms = parseGoDuration(opts.since);
    if (ms === undefined) return `invalid argument "${opts.since}" for "--since" flag: want a duration such as 30s, 5m or 1h`;
    if (ms < 0) return '--since must be greater than 0';
    sinceMs = ms;
  }
  if (opts.sinceTime !== undefined && opts.sinceTime !== '') {
    if (sinceMs !== 0) return 'at most one of `sinceTime` or `sinceSeconds` may be specified';
    const t = parseRfc3339Nano(opts.sinceTime);
    if (t === undefined) return `invalid --since-time "${opts.sinceTime}": want an RFC3339 time such as 2026-12-06T23:48:13Z`;
    q.set('sinceTime', formatRfc3339Nano(t));
  }
  if (sinceMs > 0) q.set('sinceSeconds', String(Math.ceil(sinceMs / 1000)));
  return q;
}

/** `podvisor logs NAME [-c C] [-p] [-f] [--tail N] [--timestamps] [--since D | --since-time T]`. */
export async function runLogs(name: string, opts: LogsFlags, f: ClientFlags): Promise<number> {
  const q = logQuery(opts);
  if (typeof q === 'string') {
    err(`error: ${q}\n`);
    return 1;
  }
  const ep = connect(f);
  if (!ep) return 1;
  const ns = f.namespace ?? 'default';
  let status = 0;
  let text = '';
  status = await stream(ep, `${podsPath(ns, name, 'log')}?${q.toString()}`, (c) => {
    if (status === 0) text += c;
    out(c);
  });
  if (status >= 300) {
    process.stdout.write('\n');
    err(`${statusMessage({ status, body: text, headers: {} })}\n`);
    return 1;
  }
  return 0;
}

/** `podvisor delete pod NAME`: graceful; waits until the pod is gone. */
export async function runDelete(name: string, opts: { gracePeriod?: string; wait?: boolean }, f: ClientFlags): Promise<number> {
  const ep = connect(f);
  if (!ep) return 1;
  const ns = f.namespace ?? 'default';
  const body = opts.gracePeriod !== undefined ? { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: Number(opts.gracePeriod) } : undefined;
  const r = await request(ep, 'DELETE', podsPath(ns, name), body);
  if (r.status >= 300) {
    err(`${statusMessage(r)}\n`);
    return 1;
  }
  out(`pod "${name}" deleted\n`);
  if (opts.wait === false) return 0;
  const rv = (JSON.parse(r.body) as Pod).metadata.resourceVersion ?? '';
  const again = await request(ep, 'GET', podsPath(ns, name));
  if (again.status === 404) return 0;
  let buf = '';
  await stream(ep, `${podsPath(ns)}?watch=true&resourceVersion=${rv}&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`, (chunk) => {
    buf += chunk;
    return buf.split('\n').some((l) => l.startsWith('{"type":"DELETED"'));
  });
  return 0;
}

/** `podvisor restart pod NAME [-c C]` and `podvisor recreate pod NAME`. */
export async function runRestartVerb(verb: 'restart' | 'recreate', name: string, container: string | undefined, f: ClientFlags): Promise<number> {
  const ep = connect(f);
  if (!ep) return 1;
  const ns = f.namespace ?? 'default';
  const r = await request(ep, 'POST', podsPath(ns, name, verb), container ? { container } : {});
  if (r.status >= 300) {
    err(`${statusMessage(r)}\n`);
    return 1;
  }
  out(verb === 'recreate' ? `pod/${name} re-creation requested\n` : container ? `pod/${name} container ${container} restart requested\n` : `pod/${name} restart in place requested\n`);
  return 0;
}

/**
 * `podvisor kubeconfig`: a kubeconfig for kubectl pointing at this daemon: the endpoint the
 * client verbs would use, the data dir's CA (`certificate-authority-data`) and the token.
 * Nothing is contacted; a recorded daemon that is not running is a warning (the kubeconfig
 * names where it listened last).
 */
export function runKubeconfig(f: ClientFlags): number {
  const ep = connect(f);
  if (!ep) return 1;
  if (ep.socketPath) {
    err('error: kubectl cannot use a unix socket; serve with --listen HOST:PORT and point --server at it\n');
    return 1;
  }
  const rec = ep.record;
  if (rec !== undefined && rec.state !== 'running') {
    const why = rec.state === 'stopped' ? `it stopped at ${rec.rec.stoppedAt ?? '?'}` : `pid ${rec.rec.pid} recorded in ${rec.file} has exited`;
    err(`warning: podvisor serve --data-dir ${ep.dataDir} is not running (${why}); this kubeconfig points at where it listened last, ${ep.url}\n`);
  }
  const server = `${ep.tls ? 'https' : 'http'}://${ep.host?.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
  const cluster: Record<string, string> = { server };
  if (ep.ca) cluster['certificate-authority-data'] = ep.ca.toString('base64');
  else if (ep.tls) err(`warning: there is no CA ${ep.caFile} (no podvisor serve has run with this --data-dir): kubectl will not trust the daemon's certificate\n`);
  if (!ep.tls) err('warning: kubectl sends tokens only over HTTPS; this kubeconfig will get 401 Unauthorized\n');
  out(stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'podvisor', cluster }],
    users: [{ name: 'podvisor', user: { token: ep.token } }],
    contexts: [{ name: 'podvisor', context: { cluster: 'podvisor', user: 'podvisor', namespace: f.namespace ?? 'default' } }],
    'current-context': 'podvisor',
  }));
  return 0;
}

/** The real exits of the instances an in-place restart removed (their `lastState` shows the reset's record). */
function removedText(n: RestartNotice): string {
  if (!n.removed || n.removed.length === 0) return '';
  const exits = n.removed.map((x) => `${x.container} ${x.exitCode}${x.signal ? ` (${x.signal})` : x.reason === 'OOMKilled' ? ' (OOMKilled)' : ''}`);
  return `; removed: ${exits.join(', ')}`;
}

/** `podvisor history pod NAME`: the restart records of a pod as a timeline. */
export async function runHistory(name: string, f: ClientFlags): Promise<number> {
  const ep = connect(f);
  if (!ep) return 1;
  const ns = f.namespace ?? 'default';
  const r = await request(ep, 'GET', `${podsPath(ns, name)}/restarts`);
  if (r.status >= 300) {
    err(`${statusMessage(r)}\n`);
    return 1;
  }
  const items = (JSON.parse(r.body) as { items: RestartNotice[] }).items;
  if (items.length === 0) {
    out(`pod/${name} has not restarted\n`);
    return 0;
  }
  const p = palette(process.stdout.isTTY === true && !process.env['NO_COLOR']);
  const level = (l: RestartNotice['level']): string => (l === 'container' ? 'container' : l === 'pod' ? 'pod in place' : 're-create');
  const rows = [['TIME', 'LEVEL', 'CONTAINER', 'TRIGGER', 'BACK-OFF', 'TOOK', 'WHAT HAPPENED'], ...items.map((n) => [
    new Date(n.time).toISOString().replace('T', ' ').slice(0, 23),
    level(n.level),
    n.container ?? '-',
    n.trigger,
    n.backoffMs !== undefined ? `${(n.backoffMs / 1000).toFixed(1)}s` : '-',
    n.latencyMs !== undefined ? `${n.latencyMs} ms` : '-',
    `${n.description}${n.level === 'recreate' ? ` (old UID ${n.podUid})` : ''}${removedText(n)}`,
  ])];
  const lines = formatTable(rows);
  out(`${p.bold(lines[0] ?? '')}\n`);
  for (const [i, l] of lines.slice(1).entries()) {
    const n = items[i] as RestartNotice;
    out(`${n.level === 'recreate' ? p.red(l) : n.level === 'pod' ? p.magenta(l) : l}\n`);
  }
  const counts = { container: 0, pod: 0, recreate: 0 };
  for (const n of items) counts[n.level]++;
  out(`${counts.container} container restarts, ${counts.pod} in-place pod restarts, ${counts.recreate} re-creations\n`);
  return 0;
}
