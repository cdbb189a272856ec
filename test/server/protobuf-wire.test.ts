/**
 * The protobuf decoder below kubectl: wire edge cases (varints of 1 to 10 bytes, negative
 * int64, packed and unpacked repeated numbers, map entries without key or value, unknown fields
 * of every wire type, truncation), the JSON mapping of Go's encoder (omitempty, nil, custom
 * types), the bounds (nesting, JSON size), `parseBody`'s errors, and fuzzing: random bytes and
 * mutated valid bodies never throw anything but a ProtobufDecodeError and never hang.
 */
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkObjectBodyType, MAX_BODY_NESTING, parseBody } from '../../src/server/body.js';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF, PROTOBUF_KINDS, ProtobufDecodeError } from '../../src/server/protobuf.js';
import { MESSAGES } from '../../src/server/protobuf/messages.js';
import { SCHEMA } from '../../src/server/protobuf/schema.js';
import { HttpError } from '../../src/server/status.js';

// ------------------------------------------------------------------ a tiny encoder

type Bytes = number[];

/** A varint of the low 64 bits of `n` (negative numbers take 10 bytes, as Go writes them). */
function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) return [...out, b];
    out.push(b | 0x80);
  }
}
const tag = (no: number, wire: number): Bytes => varint((BigInt(no) << 3n) | BigInt(wire));
/** Varint field. */
const V = (no: number, n: number | bigint): Bytes => [...tag(no, 0), ...varint(n)];
/** Length-delimited field: a string, raw bytes, or the concatenation of nested fields. */
const L = (no: number, ...parts: (string | Bytes)[]): Bytes => {
  const data = parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p)] : p));
  return [...tag(no, 2), ...varint(data.length), ...data];
};
const PREFIX = [0x6b, 0x38, 0x73, 0x00];
/** A whole body: prefix, Unknown{typeMeta, raw}. */
const body = (apiVersion: string, kind: string, ...raw: Bytes[]): Buffer => Buffer.from([...PREFIX, ...L(1, L(1, apiVersion), L(2, kind)), ...L(2, ...raw)]);
const decode = (b: Uint8Array, opts = {}): Record<string, unknown> => decodeKubernetesProtobuf(b, opts).object;
const failure = (b: Uint8Array, opts = {}): ProtobufDecodeError => {
  try {
    decodeKubernetesProtobuf(b, opts);
  } catch (err) {
    if (err instanceof ProtobufDecodeError) return err;
    throw err;
  }
  throw new Error('decoded');
};

// Field numbers used below (from upstream's generated.proto, see src/server/protobuf/messages.ts).
const META = 1; // metadata in every kind
const NAME = 1; // ObjectMeta.name
const POD_SPEC = 2;
const CONTAINERS = 2; // PodSpec.containers
const SECURITY_CONTEXT = 14; // PodSpec.securityContext
const SUPPLEMENTAL_GROUPS = 4; // PodSecurityContext.supplementalGroups ([]int64)

const namespace = (...meta: Bytes[]): Buffer => body('v1', 'Namespace', L(META, ...meta));

describe('the schema table', () => {
  it('compiles, names only messages it has, and every kind has its message', () => {
    for (const [name, fields] of Object.entries(MESSAGES)) expect(SCHEMA.get(name)?.fields.length, name).toBe(fields.length);
    for (const k of Object.values(PROTOBUF_KINDS)) expect(SCHEMA.has(k.message), k.message).toBe(true);
    expect(Object.keys(PROTOBUF_KINDS).sort()).toEqual(['ConfigMap', 'DeleteOptions', 'Namespace', 'Pod', 'Secret', 'SelfSubjectAccessReview', 'SelfSubjectReview'].sort());
  });
});

describe('wire format', () => {
  it('reads varints of 1 to 10 bytes; an 11th byte is an integer overflow', () => {
    // ObjectMeta.generation (7, int64).
    for (const n of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1]) {
      expect((decode(namespace(V(7, n))).metadata as Record<string, unknown>).generation ?? 0).toBe(n);
    }
    const tenBytes = varint(-1n);
    expect(tenBytes).toHaveLength(10);
    expect(decode(namespace([...tag(7, 0), ...tenBytes])).metadata).toEqual({ generation: -1 });
    // A non-minimal encoding of 5 in 10 bytes is still 5.
    expect(decode(namespace([...tag(7, 0), 0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).metadata).toEqual({ generation: 5 });
    expect(failure(namespace([...tag(7, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).message).toBe('proto: integer overflow');
  });

  it('reads negative int64 and int32 as Go converts them (the low bits, signed)', () => {
    // ObjectMeta.deletionGracePeriodSeconds (10, *int64).
    expect(decode(namespace(V(10, -1))).metadata).toEqual({ deletionGracePeriodSeconds: -1 });
    expect(decode(namespace(V(10, -(2n ** 40n)))).metadata).toEqual({ deletionGracePeriodSeconds: -(2 ** 40) });
    // A pointer set to 0 is present; a plain int64 0 is left out (omitempty).
    expect(decode(namespace(V(10, 0), V(7, 0))).metadata).toEqual({ deletionGracePeriodSeconds: 0 });
    // Pod.spec.priority (25, *int32): Go writes a negative int32 as a 10-byte varint; bits above 32 are dropped.
    const spec = (...f: Bytes[]): Record<string, unknown> => decode(body('v1', 'Pod', L(POD_SPEC, ...f))).spec as Record<string, unknown>;
    expect(spec(V(25, -5)).priority).toBe(-5);
    expect(spec(V(25, 2n ** 32n + 7n)).priority).toBe(7);
    expect(spec(V(25, 2n ** 31n)).priority).toBe(-(2 ** 31));
    // bool: anything but 0 is true (hostNetwork, 11).
    expect(spec(V(11, 2)).hostNetwork).toBe(true);
  });

  it('reads repeated numbers packed, unpacked, and both mixed', () => {
    const groups = (...f: Bytes[]): unknown => (decode(body('v1', 'Pod', L(POD_SPEC, L(SECURITY_CONTEXT, ...f)))).spec as { securityContext: Record<string, unknown> }).securityContext.supplementalGroups;
    expect(groups(V(SUPPLEMENTAL_GROUPS, 1), V(SUPPLEMENTAL_GROUPS, 2))).toEqual([1, 2]);
    expect(groups(L(SUPPLEMENTAL_GROUPS, [...varint(1), ...varint(300), ...varint(-1)]))).toEqual([1, 300, -1]);
    expect(groups(V(SUPPLEMENTAL_GROUPS, 1), L(SUPPLEMENTAL_GROUPS, [...varint(2), ...varint(3)]), V(SUPPLEMENTAL_GROUPS, 4))).toEqual([1, 2, 3, 4]);
    // An empty packed run is an empty (nil) slice: left out under omitempty.
    expect(groups(L(SUPPLEMENTAL_GROUPS, []))).toBeUndefined();
    expect(failure(body('v1', 'Pod', L(POD_SPEC, L(SECURITY_CONTEXT, L(SUPPLEMENTAL_GROUPS, [0x80]))))).message).toBe('unexpected EOF');
    // Packed is for repeated numbers only.
    expect(failure(namespace(L(7, [1]))).message).toBe('proto: wrong wireType = 2 for field generation');
  });

  it('reads map entries in any order, without key or value, and lets the last of a repeated key win', () => {
    const labels = (...entries: Bytes[]): unknown => (decode(namespace(...entries.map((e) => L(11, e)))).metadata as Record<string, unknown>).labels;
    expect(labels([...L(1, 'a'), ...L(2, 'x')], [...L(2, 'y'), ...L(1, 'b')])).toEqual({ a: 'x', b: 'y' });
    expect(labels(L(2, 'only-value'))).toEqual({ '': 'only-value' });
    expect(labels(L(1, 'only-key'))).toEqual({ 'only-key': '' });
    expect(labels([])).toEqual({ '': '' });
    expect(labels([...L(1, 'a'), ...L(2, '1')], [...L(1, 'a'), ...L(2, '2')])).toEqual({ a: '2' });
    // Unknown fields inside an entry are skipped.
    expect(labels([...L(1, 'a'), ...V(9, 1), ...L(2, 'x')])).toEqual({ a: 'x' });
    // A key named __proto__ is an own property, not the prototype.
    const proto = labels([...L(1, '__proto__'), ...L(2, 'p')]) as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    // bytes values (Secret.data, 2) without a value are empty, Quantity values (limits) are "0".
    expect(decode(body('v1', 'Secret', L(2, L(1, 'k')), L(2, [...L(1, 'b'), ...L(2, [0, 255])]))).data).toEqual({ k: '', b: 'AP8=' });
    const limits = decode(body('v1', 'Pod', L(POD_SPEC, L(CONTAINERS, L(1, 'c'), L(8, L(1, L(1, 'cpu')), L(1, [...L(1, 'memory'), ...L(2, L(1, '1Gi'))])))))) as { spec: { containers: { resources: unknown }[] } };
    expect(limits.spec.containers[0]?.resources).toEqual({ limits: { cpu: '0', memory: '1Gi' } });
  });

  it('skips unknown fields of every wire type, groups included, and refuses what Go refuses', () => {
    const unknown = [
      ...V(99, 2n ** 63n),
      ...tag(98, 1), 1, 2, 3, 4, 5, 6, 7, 8,
      ...L(97, 'skipped'),
      ...tag(96, 5), 1, 2, 3, 4,
      ...tag(95, 3), ...V(1, 1), ...tag(94, 3), ...L(2, 'x'), ...tag(94, 4), ...tag(95, 4),
      ...tag(2 ** 28, 0), 0,
    ];
    expect(decode(namespace(...[unknown, L(NAME, 'n'), unknown]))).toEqual({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'n' }, spec: {}, status: {} });
    // Unknown fields in the envelope too.
    expect(decode(Buffer.from([...PREFIX, ...unknown, ...L(1, L(1, 'v1'), L(2, 'Namespace'))]))).toMatchObject({ kind: 'Namespace' });
    const err = (bytes: Bytes): string => failure(namespace(bytes)).message;
    expect(err([...tag(99, 6), 0])).toBe('proto: illegal wireType 6');
    expect(err([...tag(99, 7), 0])).toBe('proto: illegal wireType 7');
    expect(err(tag(99, 4))).toBe('proto: ObjectMeta: wiretype end group for non-group');
    expect(err([...tag(99, 3), ...V(1, 1)])).toBe('unexpected EOF');
    expect(err([...tag(99, 3), ...tag(98, 3), ...tag(98, 4)])).toBe('unexpected EOF');
    expect(err([0x00])).toBe('proto: ObjectMeta: illegal tag 0 (wire type 0)');
    expect(err([...tag(99, 1), 1, 2, 3])).toBe('unexpected EOF');
    expect(err([...tag(99, 5), 1])).toBe('unexpected EOF');
    expect(err(V(NAME, 1))).toBe('proto: wrong wireType = 0 for field name');
    // A length beyond the enclosing message, or one Go reads as negative.
    expect(err([...tag(NAME, 2), 5, 0x61])).toBe('unexpected EOF');
    expect(err([...tag(NAME, 2), ...varint(2n ** 63n)])).toBe('proto: negative length found during unmarshaling');
    expect(err([...tag(NAME, 2), ...varint(2n ** 62n)])).toBe('unexpected EOF');
  });

  it('every truncation of a valid body decodes (at a field boundary) or fails with a decode error', () => {
    const full = body('v1', 'Secret', L(META, L(NAME, 's'), L(11, [...L(1, 'a'), ...L(2, 'b')])), L(2, [...L(1, 'k'), ...L(2, 'v')]), L(3, 'Opaque'), V(5, 1));
    expect(decode(full)).toEqual({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 's', labels: { a: 'b' } }, immutable: true, data: { k: 'dg==' }, type: 'Opaque' });
    for (let n = 0; n < full.length; n++) {
      const cut = full.subarray(0, n);
      try {
        decode(cut);
      } catch (e) {
        expect(e, `cut at ${n}`).toBeInstanceOf(ProtobufDecodeError);
      }
    }
    expect(failure(full.subarray(0, 0)).message).toBe('empty data');
    expect(failure(full.subarray(0, 3)).message).toBe('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
    expect(failure(full.subarray(0, 4)).message).toBe('empty body');
    expect(failure(full.subarray(0, full.length - 1)).message).toBe('unexpected EOF');
  });
});

describe('JSON as Go encodes it', () => {
  it('merges a repeated message field and takes the last of a repeated scalar', () => {
    expect(decode(namespace(L(NAME, 'a'), L(2, 'gen-'))).metadata).toEqual({ name: 'a', generateName: 'gen-' });
    const twice = Buffer.from([...PREFIX, ...L(1, L(1, 'v1'), L(2, 'Namespace')), ...L(2, L(META, L(NAME, 'a'), L(11, [...L(1, 'x'), ...L(2, '1')])), L(META, L(3, 'ns'), L(NAME, 'b'), L(11, [...L(1, 'y'), ...L(2, '2')])))]);
    expect(decode(twice).metadata).toEqual({ name: 'b', namespace: 'ns', labels: { x: '1', y: '2' } });
    // The envelope's fields too: a second typeMeta merges.
    const split = Buffer.from([...PREFIX, ...L(1, L(1, 'v1')), ...L(1, L(2, 'Namespace')), ...L(2, L(META, L(NAME, 'n')))]);
    expect(decode(split)).toMatchObject({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'n' } });
  });

  it('writes metav1.Time as RFC 3339 seconds in UTC, null or left out when zero, and replaces a repeated one', () => {
    // creationTimestamp (8, Time, omitzero), deletionTimestamp (9, *Time).
    const meta = (...f: Bytes[]): unknown => decode(namespace(...f)).metadata;
    expect(meta(L(8, [...V(1, 1704164645), ...V(2, 999_999_999)]))).toEqual({ creationTimestamp: '2024-01-02T03:04:05Z' });
    expect(meta(L(8, []))).toEqual({});
    expect(meta(L(8, V(1, -62135596800)))).toEqual({});
    expect(meta(L(8, V(2, 5)))).toEqual({ creationTimestamp: '1970-01-01T00:00:00Z' });
    expect(meta(L(9, []))).toEqual({ deletionTimestamp: null });
    expect(meta(L(8, V(1, 1)), L(8, []))).toEqual({});
    expect(meta(L(8, V(1, 1)), L(8, V(1, 2)))).toEqual({ creationTimestamp: '1970-01-01T00:00:02Z' });
    expect(meta(L(9, V(1, -62167219200)))).toEqual({ deletionTimestamp: '0000-01-01T00:00:00Z' });
    expect(failure(namespace(L(9, V(1, 253402300800)))).message).toMatch(/outside the years 0000 to 9999/);
    expect(failure(namespace(L(9, V(1, -(2n ** 62n))))).message).toMatch(/outside the years 0000 to 9999/);
    // A Time field that is not the plain mapping in a struct without omitzero: ContainerStateRunning.startedAt is null.
    const pod = decode(body('v1', 'Pod', L(3, L(8, L(2, L(2, L(1, [])))))));
    expect(pod.status).toEqual({ containerStatuses: [{ name: '', state: { running: { startedAt: null } }, lastState: {}, ready: false, restartCount: 0, image: '', imageID: '' }] });
  });

  it('writes IntOrString as a number or a string, and refuses an impossible type', () => {
    // Container.readinessProbe (11) -> Probe.handler (1, inline) -> httpGet (2) -> port (2).
    const probe = (port: Bytes): unknown => (decode(body('v1', 'Pod', L(POD_SPEC, L(CONTAINERS, L(1, 'c'), L(11, L(1, L(2, L(2, port)))))))).spec as { containers: { readinessProbe: unknown }[] }).containers[0]?.readinessProbe;
    expect(probe([...V(1, 0), ...V(2, 8080)])).toEqual({ httpGet: { port: 8080 } });
    expect(probe([...V(1, 1), ...L(3, 'http')])).toEqual({ httpGet: { port: 'http' } });
    expect(probe([])).toEqual({ httpGet: { port: 0 } });
    expect(failure(body('v1', 'Pod', L(POD_SPEC, L(CONTAINERS, L(11, L(1, L(2, L(2, V(1, 2))))))))).message).toBe('impossible IntOrString.Type');
  });

  it('embeds FieldsV1 as JSON, bounded like any body, and writes empty fields as Go does', () => {
    const managed = (raw: string | Bytes): unknown => (decode(namespace(L(17, L(1, 'kubectl'), L(7, L(1, raw))))).metadata as { managedFields: unknown[] }).managedFields[0];
    expect(managed('{"f:metadata":{"f:labels":{".":{}}}}')).toEqual({ manager: 'kubectl', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } } } });
    expect(managed('')).toEqual({ manager: 'kubectl', fieldsV1: null });
    expect(failure(namespace(L(17, L(7, L(1, '{"a":'))))).message).toMatch(/^json: error calling MarshalJSON for type \*v1\.FieldsV1: /);
    const deep = '['.repeat(200) + ']'.repeat(200);
    expect(failure(namespace(L(17, L(7, L(1, deep))))).message).toBe(`exceeded max depth (podvisor accepts at most 128 levels of nesting)`);
    // Non-omitempty fields are present with their zero value; a nil slice without omitempty is null.
    expect(decode(body('v1', 'Pod', L(POD_SPEC, L(CONTAINERS, [])))).spec).toEqual({ containers: [{ name: '', resources: {} }] });
    expect(decode(body('v1', 'Pod', L(POD_SPEC, [])))).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: {}, spec: { containers: null }, status: {} });
    // Inline structs: Volume's source fields are the volume's (Volume.volumeSource 2 -> emptyDir 2 -> sizeLimit 2).
    expect(decode(body('v1', 'Pod', L(POD_SPEC, L(1, L(1, 'v'), L(2, L(2, L(2, L(1, '1Gi')))))))).spec).toEqual({ volumes: [{ name: 'v', emptyDir: { sizeLimit: '1Gi' } }], containers: null });
    // Strings are UTF-8; invalid bytes become U+FFFD, as Go's JSON encoder writes them.
    expect(decode(namespace(L(NAME, [0x61, 0xff, 0x62]))).metadata).toEqual({ name: 'a\uFFFDb' });
  });

  it('decodes every kind, with any apiVersion for DeleteOptions, and refuses others', () => {
    expect(decode(body('meta.k8s.io/v1', 'DeleteOptions', V(1, 0), L(2, L(1, 'uid-1')), L(4, 'Foreground'), L(5, 'All')))).toEqual({
      kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', gracePeriodSeconds: 0, preconditions: { uid: 'uid-1' }, propagationPolicy: 'Foreground', dryRun: ['All'],
    });
    expect(decode(body('apps/v1', 'DeleteOptions'))).toEqual({ kind: 'DeleteOptions', apiVersion: 'apps/v1' });
    expect(decode(body('authentication.k8s.io/v1', 'SelfSubjectReview', L(2, L(1, L(1, 'alice'), L(4, [...L(1, 'scopes'), ...L(2, [...L(1, 'a'), ...L(1, 'b')])]), L(4, L(1, 'none'))))))).toEqual({
      kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, status: { userInfo: { username: 'alice', extra: { scopes: ['a', 'b'], none: null } } },
    });
    // Without apiVersion (the URL gives it, as the API server fills it in).
    expect(decode(body('', 'ConfigMap'))).toEqual({ kind: 'ConfigMap', metadata: {} });
    expect(failure(body('v1', '')).message).toBe(`Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:"v1", Kind:""}'`);
    const other = failure(body('v1', 'ServiceAccount'));
    expect(other.message).toMatch(/^no kind "ServiceAccount" is registered for version "v1" in podvisor's protobuf decoder \(it decodes Namespace, ConfigMap, Secret, Pod, /);
    expect(other.target).toBeUndefined();
    expect(failure(body('apps/v1', 'Pod')).message).toMatch(/^no kind "Pod" is registered for version "apps\/v1"/);
    expect(failure(body('v1', 'constructor')).message).toMatch(/^no kind "constructor"/);
    // Errors inside the object name the kind.
    expect(failure(namespace([0x00])).target).toEqual({ kind: 'Namespace', apiVersion: 'v1' });
  });
});

describe('bounds', () => {
  it('refuses nesting deeper than the bound before building it', () => {
    const pod = body('v1', 'Pod', L(POD_SPEC, L(CONTAINERS, L(1, 'c'), L(8, L(1, [...L(1, 'cpu'), ...L(2, L(1, '1'))])))));
    expect(decode(pod, { maxDepth: 5 })).toMatchObject({ spec: { containers: [{ resources: { limits: { cpu: '1' } } }] } });
    expect(failure(pod, { maxDepth: 4 }).message).toBe('exceeded max depth (podvisor accepts at most 4 levels of nesting)');
    expect(failure(pod, { maxDepth: 1 }).message).toBe('exceeded max depth (podvisor accepts at most 1 levels of nesting)');
  });

  it('stops when the JSON grows past its budget (2 bytes on the wire can be an object with defaults)', () => {
    const containers = Buffer.alloc(2 * 300_000, Buffer.from(L(CONTAINERS, [])));
    const spec = Buffer.from([...tag(POD_SPEC, 2), ...varint(containers.length)]);
    const many = Buffer.concat([Buffer.from([...PREFIX, ...L(1, L(1, 'v1'), L(2, 'Pod')), ...tag(2, 2), ...varint(spec.length + containers.length)]), spec, containers]);
    const t0 = performance.now();
    expect(failure(many).message).toBe('the decoded object exceeds 6291456 bytes as JSON');
    expect(failure(many, { maxJsonBytes: 1000 }).message).toBe('the decoded object exceeds 1000 bytes as JSON');
    expect(performance.now() - t0).toBeLessThan(10_000);
    // A large secret is within the budget (base64 is 4/3 of the bytes).
    const field = (no: number, data: Buffer): Buffer => Buffer.concat([Buffer.from([...tag(no, 2), ...varint(data.length)]), data]);
    const value = Buffer.alloc(2 * 1024 * 1024, Buffer.from([0, 1, 2, 0xff]));
    const big = Buffer.concat([Buffer.from([...PREFIX, ...L(1, L(1, 'v1'), L(2, 'Secret'))]), field(2, field(2, Buffer.concat([Buffer.from(L(1, 'k')), field(2, value)])))]);
    expect((decode(big).data as { k: string }).k).toHaveLength(Math.ceil((2 * 1024 * 1024) / 3) * 4);
  });

  it('skips an unknown group nested a million times deep without recursion', () => {
    const n = 1_000_000;
    const deep = Buffer.concat([Buffer.from([...PREFIX, ...L(1, L(1, 'v1'), L(2, 'Namespace'))]), Buffer.alloc(2 * n, Buffer.from(tag(99, 3))), Buffer.alloc(2 * n, Buffer.from(tag(99, 4)))]);
    expect(decode(deep)).toMatchObject({ kind: 'Namespace' });
  });
});

describe('parseBody and the media type', () => {
  const req = (type: string): IncomingMessage => ({ headers: { 'content-type': type }, resume: () => undefined }) as unknown as IncomingMessage;
  const httpError = (fn: () => unknown): { code: number; message: string } => {
    try {
      fn();
    } catch (err) {
      if (err instanceof HttpError) return { code: err.status.code, message: err.status.message };
      throw err;
    }
    throw new Error('no error');
  };

  it('accepts protobuf object bodies and lists it among the accepted types of a 415', () => {
    expect(checkObjectBodyType(req(`${KUBERNETES_PROTOBUF}`))).toBe(KUBERNETES_PROTOBUF);
    expect(checkObjectBodyType(req(`${KUBERNETES_PROTOBUF}; charset=binary`))).toBe(KUBERNETES_PROTOBUF);
    expect(httpError(() => checkObjectBodyType(req('text/plain')))).toEqual({
      code: 415,
      message: 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
    });
  });

  it('decodes to the JSON value, and answers 400 with the API server\'s wording', () => {
    const ns = namespace(L(NAME, 'foo'));
    expect(parseBody(ns, KUBERNETES_PROTOBUF)).toEqual({ value: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'foo' }, spec: {}, status: {} }, duplicates: [], literals: undefined });
    expect(parseBody(Buffer.alloc(0), KUBERNETES_PROTOBUF, { allowEmpty: true }).value).toBeUndefined();
    expect(httpError(() => parseBody(Buffer.alloc(0), KUBERNETES_PROTOBUF))).toEqual({ code: 400, message: 'the request body is empty' });
    expect(httpError(() => parseBody(Buffer.from('{"kind":"Namespace"}'), KUBERNETES_PROTOBUF))).toEqual({
      code: 400,
      message: 'the object provided is unrecognized: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    });
    expect(httpError(() => parseBody(namespace([0x00]), KUBERNETES_PROTOBUF))).toEqual({
      code: 400,
      message: 'Namespace in version "v1" cannot be handled as a Namespace: proto: ObjectMeta: illegal tag 0 (wire type 0)',
    });
    expect(httpError(() => parseBody(body('authorization.k8s.io/v1', 'SelfSubjectAccessReview', [0xff]), KUBERNETES_PROTOBUF)).message).toBe(
      'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: unexpected EOF',
    );
    // JSON and YAML are unchanged.
    expect(parseBody(Buffer.from('{"a":1}'), 'application/json').value).toEqual({ a: 1 });
  });

  it('bounds the JSON by twice the body limit and nesting by MAX_BODY_NESTING', () => {
    const secret = body('v1', 'Secret', L(2, [...L(1, 'k'), ...L(2, Array.from({ length: 3000 }, () => 1))]));
    expect(httpError(() => parseBody(secret, KUBERNETES_PROTOBUF, { maxBytes: 1000 })).message).toBe('Secret in version "v1" cannot be handled as a Secret: the decoded object exceeds 2000 bytes as JSON');
    const deep = '{"a":'.repeat(MAX_BODY_NESTING) + '{}' + '}'.repeat(MAX_BODY_NESTING);
    expect(httpError(() => parseBody(namespace(L(17, L(7, L(1, deep)))), KUBERNETES_PROTOBUF)).message).toMatch(/cannot be handled as a Namespace: exceeded max depth/);
  });
});

// ------------------------------------------------------------------ fuzzing

/** Valid bodies to mutate: every kind, with maps, lists, nested and custom messages (and real kubectl bodies). */
const SEEDS: Buffer[] = [
  namespace(L(NAME, 'n'), L(11, [...L(1, 'a'), ...L(2, 'b')]), L(8, V(1, 1704164645)), L(17, L(1, 'm'), L(4, V(1, 5)), L(7, L(1, '{"f:a":{}}')))),
  body('v1', 'ConfigMap', L(META, L(NAME, 'c')), L(2, [...L(1, 'a'), ...L(2, 'b')]), L(3, [...L(1, 'bin'), ...L(2, [0, 1, 2])]), V(4, 1)),
  body('v1', 'Secret', L(META, L(NAME, 's')), L(2, [...L(1, 'k'), ...L(2, 'v')]), L(3, 'kubernetes.io/tls')),
  body('v1', 'Pod', L(META, L(NAME, 'p')), L(POD_SPEC,
    L(1, L(1, 'v'), L(2, L(2, L(2, L(1, '1Gi'))))),
    L(CONTAINERS, L(1, 'c'), L(2, 'busybox'), L(3, 'sleep'), L(8, L(1, [...L(1, 'cpu'), ...L(2, L(1, '1'))])), L(11, L(1, L(2, L(2, V(1, 1), L(3, 'http')))), V(2, 5))),
    L(SECURITY_CONTEXT, L(SUPPLEMENTAL_GROUPS, [...varint(1), ...varint(-1)])),
    V(25, -5),
  ), L(3, L(8, L(1, 'c'), L(2, L(2, L(1, V(1, 1704164645)))), V(5, 3)))),
  body('authentication.k8s.io/v1', 'SelfSubjectReview', L(2, L(1, L(1, 'alice'), L(3, 'g'), L(4, [...L(1, 'x'), ...L(2, L(1, 'y'))])))),
  body('authorization.k8s.io/v1', 'SelfSubjectAccessReview', L(2, L(1, L(1, 'default'), L(2, 'get'), L(5, 'pods'), L(8, L(1, 'a=b'), L(2, L(1, 'a'), L(2, 'In'), L(3, 'b')))), L(2, L(1, '/logs'), L(2, 'get')))),
  body('v1', 'DeleteOptions', V(1, 30), L(2, L(1, 'u'), L(2, '5')), V(3, 1), L(4, 'Orphan'), L(5, 'All'), V(6, 0)),
  // kubectl 1.35: create namespace foo, and auth can-i get pods (captured).
  Buffer.from('6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a0032003800420012001a020a001a002200', 'hex'),
  Buffer.from(
    '6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373526576696577123c0a100a0012001a0022002a00320038004200121e0a1c0a0764656661756c7412036765741a0022002a04706f647332003a001a08080012001a0020001a002200',
    'hex',
  ),
];

const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
        fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }), times: fc.integer({ min: 2, max: 50 }) }),
      ),
      { minLength: 1, maxLength: 5 },
    ),
  )
  .map(([seed, ops]) => {
    let b = Buffer.from(seed);
    for (const m of ops) {
      const at = m.at % (b.length + 1);
      if (m.op === 'flip' && at < b.length) b[at] = m.value;
      else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
      else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
      else if (m.op === 'truncate') b = b.subarray(0, at);
      else if (m.op === 'repeat') b = Buffer.concat([b.subarray(0, at), ...Array<Buffer>(m.times).fill(b.subarray(at, at + m.n)), b.subarray(at)]);
    }
    return b;
  });

const randomBytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.uint8Array({ maxLength: 400 }).map((r) => Buffer.concat([Buffer.from(PREFIX), r])),
  fc.tuple(fc.constantFrom(...Object.keys(PROTOBUF_KINDS)), fc.uint8Array({ maxLength: 400 })).map(([k, r]) => body('', k, [...r])),
);

describe('fuzzing', () => {
  it('never throws anything but a ProtobufDecodeError, never hangs, and what it returns is JSON', () => {
    const counts = { ok: 0, err: 0 };
    fc.assert(
      fc.property(fc.oneof({ arbitrary: mutated, weight: 3 }, { arbitrary: randomBytes, weight: 2 }), (b) => {
        const t0 = performance.now();
        try {
          const { object } = decodeKubernetesProtobuf(b);
          expect(JSON.parse(JSON.stringify(object))).toEqual(object);
          counts.ok++;
        } catch (err) {
          if (!(err instanceof ProtobufDecodeError)) throw err;
          counts.err++;
        }
        expect(performance.now() - t0).toBeLessThan(2000);
      }),
      { numRuns: 4000, seed: Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31) },
    );
    // Both outcomes were exercised.
    expect(counts.ok).toBeGreaterThan(20);
    expect(counts.err).toBeGreaterThan(1000);
  });

  it('decodes every seed', () => {
    for (const s of SEEDS) expect(() => decodeKubernetesProtobuf(s)).not.toThrow();
  });
});
