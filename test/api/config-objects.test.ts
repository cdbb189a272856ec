// ConfigMap and Secret: decoding (base64 with Go's errors), the Secret's stored form, and
// validation with upstream's messages (ValidateConfigMap, ValidateSecret and their updates).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderFieldError, type FieldError } from '../../src/api/errors.js';
import { decodeConfigMap, isConfigMapKey, MAX_SECRET_SIZE, validateConfigMap, validateConfigMapUpdate, type ConfigMap } from '../../src/api/config-objects.js';
import { base64Decode, base64Encode, goJsonObjectError, utf8Bytes } from '../../src/api/go-encoding.js';
import { decodeSecret, prepareSecretForStore, validateSecret, validateSecretUpdate, type Secret } from '../../src/api/secret.js';

const render = (errs: readonly FieldError[]): string[] => errs.map(renderFieldError);
const b64 = (s: string): string => base64Encode(utf8Bytes(s));

const KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const REDACTED = '"<secret contents redacted>"';
const IMMUTABLE = 'Forbidden: field is immutable when `immutable` is set';

const cm = (more: Partial<ConfigMap> = {}): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: 'default', resourceVersion: '3' },
  ...more,
});
const secret = (more: Partial<Secret> = {}, annotations?: Record<string, string>): Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 's', namespace: 'default', resourceVersion: '3', ...(annotations ? { annotations } : {}) },
  type: 'Opaque',
  ...more,
});

describe('isConfigMapKey', () => {
  const cases: [string, string[]][] = [
    ['key.name', []],
    ['KEY_NAME', []],
    ['-a_b.c-', []],
    ['.hidden', []],
    ['a'.repeat(253), []],
    ['a'.repeat(254), ['must be no more than 253 characters']],
    ['', [KEY_MSG]],
    ['a b', [KEY_MSG]],
    ['a/b', [KEY_MSG]],
    ['.', ["must not be '.'"]],
    ['..', ["must not be '..'"]],
    ['..data', ["must not start with '..'"]],
    ['../x', [KEY_MSG, "must not start with '..'"]],
  ];
  it.each(cases)('%j', (key, expected) => expect(isConfigMapKey(key)).toEqual(expected));
});

describe('Go encodings', () => {
  it.each([
    ['YWJj', 'abc'],
    ['YWI=', 'ab'],
    ['YQ==', 'a'],
    ['', ''],
    ['YW\nJj\r\n', 'abc'],
    ['YR==', 'a'],
  ])('base64 %j decodes to %j', (text, plain) => {
    const r = base64Decode(text);
    expect(r.ok && new TextDecoder().decode(r.bytes)).toBe(plain);
  });

  it.each([
    ['abc', 0],
    ['YWJj!', 4],
    ['YQ=', 3],
    ['YQ==x', 4],
    ['=', 0],
    ['Y===', 1],
    ['YWJjZ', 4],
    ['é', 0],
  ])('base64 %j fails at byte %i', (text, at) => {
    expect(base64Decode(text)).toEqual({ ok: false, error: `illegal base64 data at input byte ${at}` });
  });

  it.each([
    ['{"auths":{}}', undefined],
    [' null ', undefined],
    ['', 'unexpected end of JSON input'],
    ['{"a":', 'unexpected end of JSON input'],
    ['not json', "invalid character 'o' in literal null (expecting 'u')"],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{}x', "invalid character 'x' after top-level value"],
    ['{a}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', 'invalid character \'"\' after object key:value pair'],
    ['[1 2]', "invalid character '2' after array element"],
    ['tru', "invalid character ' ' in literal true (expecting 'e')"],
    ['-', "invalid character ' ' in numeric literal"],
    ['1.', "invalid character ' ' after decimal point in numeric literal"],
    ['1e+', "invalid character ' ' in exponent of numeric literal"],
    ['"\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
    ['[1,2]', 'json: cannot unmarshal array into Go value of type map[string]interface {}'],
    ['"s"', 'json: cannot unmarshal string into Go value of type map[string]interface {}'],
    ['-1.5e3', 'json: cannot unmarshal number into Go value of type map[string]interface {}'],
    ['false', 'json: cannot unmarshal bool into Go value of type map[string]interface {}'],
  ])('json.Unmarshal of %j into a map', (text, expected) => {
    expect(goJsonObjectError(utf8Bytes(text))).toBe(expected);
  });

  it('quotes bytes as Go does', () => {
    expect(goJsonObjectError(Uint8Array.from([0x00]))).toBe("invalid character '\\x00' looking for beginning of value");
    expect(goJsonObjectError(Uint8Array.from([0x85]))).toBe("invalid character '\\u0085' looking for beginning of value");
    expect(goJsonObjectError(Uint8Array.from([0xe9]))).toBe("invalid character 'é' looking for beginning of value");
    expect(goJsonObjectError(utf8Bytes('['.repeat(10001)))).toBe("invalid character '[' exceeded max depth");
  });
});

describe('decodeConfigMap', () => {
  it('decodes a config map, canonicalizing binaryData', () => {
    const r = decodeConfigMap({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x' }, binaryData: { b: 'YR\n==' }, immutable: true });
    expect(r.errors).toEqual([]);
    expect(r.object).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x' }, binaryData: { b: 'YQ==' }, immutable: true });
  });

  it('reports wrong types, bad base64 and unknown fields', () => {
    const r = decodeConfigMap({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: { a: 1, b: { x: 1 } }, binaryData: { c: '%%%' }, immutable: 'yes', spec: {} });
    expect(render(r.errors)).toEqual([
      'data[a]: Invalid value: 1: must be of type string',
      'data[b]: Invalid value: {"x":1}: must be of type string',
      'binaryData[c]: Invalid value: "%%%": illegal base64 data at input byte 0',
      'immutable: Invalid value: "yes": must be of type boolean',
    ]);
    expect(r.errors.every((e) => e.type === 'TypeInvalid')).toBe(true);
    expect(r.typeErrors).toBe(true);
    expect(r.warnings).toEqual(['unknown field "spec"']);
  });
});

describe('validateConfigMap', () => {
  const cases: [string, ConfigMap, string[]][] = [
    ['a valid config map', cm({ data: { 'key.name': 'v' }, binaryData: { KEY_NAME: 'AAE=' } }), []],
    ['name is a DNS-1123 subdomain', cm({ metadata: { name: 'Cfg', namespace: 'default' } }), [`metadata.name: Invalid value: "Cfg": ${SUBDOMAIN_MSG}`]],
    ['namespace required', cm({ metadata: { name: 'cfg' } }), ['metadata.namespace: Required value']],
    ['data keys valid', cm({ data: { 'a b': 'v' } }), [`data[a b]: Invalid value: "a b": ${KEY_MSG}`]],
    ['binaryData keys valid', cm({ binaryData: { '..x': '' } }), [`binaryData[..x]: Invalid value: "..x": must not start with '..'`]],
    ['a key in data and binaryData', cm({ data: { a: 'v' }, binaryData: { a: 'AA==' } }), ['data[a]: Invalid value: "a": duplicate of key present in binaryData']],
    ['data at most 1 MiB', cm({ data: { a: 'x'.repeat(MAX_SECRET_SIZE + 1) } }), ['Too long: may not be more than 1048576 bytes']],
    ['data counts UTF-8 bytes', cm({ data: { a: 'é'.repeat(MAX_SECRET_SIZE / 2), b: 'x' } }), ['Too long: may not be more than 1048576 bytes']],
    ['data and binaryData count together', cm({ data: { a: 'x'.repeat(MAX_SECRET_SIZE) }, binaryData: { b: 'AA==' } }), ['Too long: may not be more than 1048576 bytes']],
    ['exactly 1 MiB is allowed', cm({ data: { a: 'x'.repeat(MAX_SECRET_SIZE - 1) }, binaryData: { b: 'AA==' } }), []],
  ];
  it.each(cases)('%s', (_name, input, expected) => expect(render(validateConfigMap(input))).toEqual(expected));

  it('the size error refers to the whole object (empty path)', () => {
    expect(validateConfigMap(cm({ data: { a: 'x'.repeat(MAX_SECRET_SIZE + 1) } }))).toEqual([{ type: 'TooLong', field: '', detail: 'may not be more than 1048576 bytes' }]);
  });
});

describe('validateConfigMapUpdate', () => {
  const frozen = cm({ data: { a: 'x' }, binaryData: { b: 'AA==' }, immutable: true });
  const cases: [string, ConfigMap, ConfigMap, string[]][] = [
    ['a mutable config map may change', cm({ data: { a: 'y' } }), cm({ data: { a: 'x' } }), []],
    ['an immutable one may change its labels', { ...frozen, metadata: { ...frozen.metadata, labels: { a: 'b' } } }, frozen, []],
    ['immutable cannot be unset', { ...frozen, immutable: false }, frozen, [`immutable: ${IMMUTABLE}`]],
    ['immutable cannot be dropped', { ...frozen, immutable: undefined }, frozen, [`immutable: ${IMMUTABLE}`]],
    ['data frozen', { ...frozen, data: { a: 'y' } }, frozen, [`data: ${IMMUTABLE}`]],
    ['binaryData frozen', { ...frozen, binaryData: {} }, frozen, [`binaryData: ${IMMUTABLE}`]],
    ['an absent map equals an empty one', { ...frozen, data: {} }, { ...frozen, data: undefined }, []],
    ['metadata update rules first', { ...frozen, metadata: { name: 'other', namespace: 'default', resourceVersion: '3' }, data: {} }, frozen, ['metadata.name: Invalid value: "other": field is immutable', `data: ${IMMUTABLE}`]],
    ['the new object is validated', cm({ data: { 'a b': '' } }), cm(), [`data[a b]: Invalid value: "a b": ${KEY_MSG}`]],
  ];
  it.each(cases)('%s', (_name, next, cur, expected) => expect(render(validateConfigMapUpdate(next, cur))).toEqual(expected));
});

describe('decodeSecret', () => {
  it('decodes a secret, canonicalizing data', () => {
    const r = decodeSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { a: 'YWJj\n' }, stringData: { b: 'x' } });
    expect(r.errors).toEqual([]);
    expect(r.object).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { a: 'YWJj' }, stringData: { b: 'x' } });
  });

  it('bad base64 is the decoding error of the API server, the value redacted', () => {
    const r = decodeSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { pw: 'hunter2', ok: 'YQ==', n: 5 }, stringData: { t: true }, type: 1 });
    expect(render(r.errors)).toEqual([
      `data[pw]: Invalid value: ${REDACTED}: illegal base64 data at input byte 4`,
      `data[n]: Invalid value: ${REDACTED}: must be of type string`,
      `stringData[t]: Invalid value: ${REDACTED}: must be of type string`,
      'type: Invalid value: 1: must be of type string',
    ]);
    expect(r.typeErrors).toBe(true);
    expect(JSON.stringify(r.errors)).not.toContain('hunter2');
  });
});

describe('prepareSecretForStore', () => {
  it('merges stringData into data as base64 of UTF-8, removes it, defaults the type', () => {
    const s: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: b64('old'), b: b64('keep') }, stringData: { a: 'new', c: 'é' } };
    const before = structuredClone(s);
    expect(prepareSecretForStore(s)).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'bmV3', b: b64('keep'), c: 'w6k=' }, type: 'Opaque' });
    expect(s).toEqual(before);
  });

  it('keeps a given type, an empty one is Opaque', () => {
    expect(prepareSecretForStore(secret({ type: 'kubernetes.io/tls' })).type).toBe('kubernetes.io/tls');
    expect(prepareSecretForStore(secret({ type: '' })).type).toBe('Opaque');
  });
});

describe('validateSecret', () => {
  const sa = 'kubernetes.io/service-account.name';
  const cases: [string, Secret, string[]][] = [
    ['a valid opaque secret', secret({ data: { 'key.name': b64('v') } }), []],
    ['name is a DNS-1123 subdomain', secret({ metadata: { name: 'S_1', namespace: 'default' } }), [`metadata.name: Invalid value: "S_1": ${SUBDOMAIN_MSG}`]],
    ['data keys valid', secret({ data: { '.': '' } }), [`data[.]: Invalid value: ".": must not be '.'`]],
    ['stringData keys are reported under data', secret({ stringData: { 'a b': 'x' } }), [`data[a b]: Invalid value: "a b": ${KEY_MSG}`]],
    ['data at most 1 MiB (decoded)', secret({ data: { a: b64('x'.repeat(MAX_SECRET_SIZE)), b: 'AA==' } }), ['data: Too long: may not be more than 1048576 bytes']],
    ['exactly 1 MiB is allowed', secret({ data: { a: b64('x'.repeat(MAX_SECRET_SIZE)) } }), []],
    ['service account token: the annotation is required', secret({ type: 'kubernetes.io/service-account-token' }), [`metadata.annotations[${sa}]: Required value`]],
    ['service account token with its annotation', secret({ type: 'kubernetes.io/service-account-token' }, { [sa]: 'default' }), []],
    ['dockercfg: .dockercfg required', secret({ type: 'kubernetes.io/dockercfg' }), ['data[.dockercfg]: Required value']],
    ['dockercfg: .dockercfg is JSON', secret({ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64('{"r": ') } }), [`data[.dockercfg]: Invalid value: ${REDACTED}: unexpected end of JSON input`]],
    ['dockercfg: a JSON object', secret({ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64('{"r":{}}') } }), []],
    ['dockerconfigjson: .dockerconfigjson required', secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockercfg': b64('{}') } }), ['data[.dockerconfigjson]: Required value']],
    [
      'dockerconfigjson: a JSON object, not an array',
      secret({ type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '[]' } }),
      [`data[.dockerconfigjson]: Invalid value: ${REDACTED}: json: cannot unmarshal array into Go value of type map[string]interface {}`],
    ],
    ['basic-auth: username or password required', secret({ type: 'kubernetes.io/basic-auth' }), ['data[username]: Required value', 'data[password]: Required value']],
    ['basic-auth: an empty password alone is enough', secret({ type: 'kubernetes.io/basic-auth', data: { password: '' } }), []],
    ['ssh-auth: a non-empty ssh-privatekey required', secret({ type: 'kubernetes.io/ssh-auth', data: { 'ssh-privatekey': '' } }), ['data[ssh-privatekey]: Required value']],
    ['ssh-auth with a key', secret({ type: 'kubernetes.io/ssh-auth', stringData: { 'ssh-privatekey': 'k' } }), []],
    ['tls: tls.crt and tls.key required', secret({ type: 'kubernetes.io/tls' }), ['data[tls.crt]: Required value', 'data[tls.key]: Required value']],
    ['tls: empty values are present', secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }), []],
    ['bootstrap token: no server-side rule', secret({ type: 'bootstrap.kubernetes.io/token' }), []],
    ['any other type: no rule', secret({ type: 'example.com/custom' }), []],
  ];
  it.each(cases)('%s', (_name, input, expected) => expect(render(validateSecret(input))).toEqual(expected));
});

describe('validateSecretUpdate', () => {
  const frozen = secret({ data: { a: b64('x') }, immutable: true });
  const tls = secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } });
  const cases: [string, Secret, Secret, string[]][] = [
    ['a mutable secret may change', secret({ data: { a: b64('y') } }), secret({ data: { a: b64('x') } }), []],
    ['type immutable', secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }), secret(), ['type: Invalid value: "kubernetes.io/tls": field is immutable']],
    ['an omitted type is Opaque, so a typed secret fails', { ...tls, type: undefined }, tls, ['type: Invalid value: "Opaque": field is immutable']],
    ['immutable cannot be unset', { ...frozen, immutable: false }, frozen, [`immutable: ${IMMUTABLE}`]],
    ['data frozen', { ...frozen, data: { a: b64('y') } }, frozen, [`data: ${IMMUTABLE}`]],
    ['a change through stringData is a change of data', { ...frozen, stringData: { b: 'new' } }, frozen, [`data: ${IMMUTABLE}`]],
    ['stringData repeating data is no change', { ...frozen, stringData: { a: 'x' } }, frozen, []],
    ['resourceVersion required', { ...frozen, metadata: { name: 's', namespace: 'default' } }, frozen, ['metadata.resourceVersion: Invalid value: "": must be specified for an update']],
  ];
  it.each(cases)('%s', (_name, next, cur, expected) => expect(render(validateSecretUpdate(next, cur))).toEqual(expected));
});

describe('properties', () => {
  const key = fc.stringMatching(/^[-._a-zA-Z0-9]{1,40}$/).filter((k) => k !== '.' && !k.startsWith('..'));

  it('any valid key set round-trips through prepareSecretForStore and validates', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ unit: 'grapheme' })), fc.dictionary(key, fc.uint8Array({ maxLength: 64 })), (stringData, raw) => {
        const data = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, base64Encode(v)]));
        const stored = prepareSecretForStore(secret({ data, stringData }));
        expect(stored.stringData).toBeUndefined();
        expect(Object.keys(stored.data ?? {}).sort()).toEqual([...new Set([...Object.keys(data), ...Object.keys(stringData)])].sort());
        for (const [k, v] of Object.entries(stored.data ?? {})) {
          const d = base64Decode(v);
          const want = Object.hasOwn(stringData, k) ? utf8Bytes(stringData[k] ?? '') : (raw[k] ?? new Uint8Array());
          expect(d.ok && [...d.bytes]).toEqual([...want]);
        }
        expect(validateSecret(stored)).toEqual([]);
        expect(prepareSecretForStore(stored)).toEqual(stored);
        // What the store holds decodes back to itself.
        expect(decodeSecret(JSON.parse(JSON.stringify(stored)) as unknown).object).toEqual(stored);
      }),
    );
  });

  it('base64 round-trips any bytes, and re-encoding a decoded text is canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = base64Encode(bytes);
        const d = base64Decode(text);
        expect(d.ok && [...d.bytes]).toEqual([...bytes]);
      }),
    );
  });

  it('decoding never throws on arbitrary JSON, and errors of an object body have a path', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ apiVersion: fc.jsonValue(), metadata: fc.jsonValue(), data: fc.dictionary(fc.string(), fc.jsonValue()), stringData: fc.jsonValue(), binaryData: fc.dictionary(fc.string(), fc.string()) }),
    );
    fc.assert(
      fc.property(body, (b) => {
        for (const r of [decodeSecret(b), decodeConfigMap(b)]) {
          if (typeof b === 'object' && b !== null && !Array.isArray(b)) for (const e of r.errors) expect(e.field).not.toBe('');
          render(r.errors);
        }
        validateSecret(prepareSecretForStore(decodeSecret(b).object));
        validateConfigMap(decodeConfigMap(b).object);
      }),
    );
  });
});
