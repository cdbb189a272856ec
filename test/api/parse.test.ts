// Manifest reading: multi-document YAML, JSON, Lists, syntax errors with line and column,
// wrong kinds and apiVersions, bytes that are not UTF-8.
import { describe, expect, it } from 'vitest';
import { decodeManifestBytes, loadPods, parseManifests, renderManifestError, selectPods } from '../../src/api/index.js';

const POD = (name: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
    - name: c
      image: busybox:1.36
`;

describe('parseManifests', () => {
  it('reads several documents and skips empty ones', () => {
    const text = `# leading comment\n---\n${POD('a')}---\n---\n# only a comment\n---\n${POD('b')}...\n`;
    const r = parseManifests(text, 'pods.yaml');
    expect(r.errors).toEqual([]);
    expect(r.docs.map((d) => (d.value as { metadata: { name: string } }).metadata.name)).toEqual(['a', 'b']);
    expect(r.docs[0]?.line).toBe(3);
    expect(loadPods(text, 'pods.yaml').pods.map((p) => [p.name, p.errors.length])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
  });

  it('reads JSON', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } }, null, 2);
    const r = loadPods(json, 'pod.json');
    expect(r.errors).toEqual([]);
    expect(r.pods[0]).toMatchObject({ name: 'j', errors: [], line: 1 });
  });

  it('a malformed document is an error with line and column; the others are still read', () => {
    const text = `${POD('ok')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [broken\n`;
    const r = parseManifests(text, 'bad.yaml');
    expect(r.docs).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
    const e = r.errors[0];
    expect(e).toMatchObject({ source: 'bad.yaml', document: 1 });
    expect(e?.line).toBeGreaterThanOrEqual(13);
    expect(renderManifestError(e!)).toMatch(/^bad\.yaml:\d+:\d+: document 2: /);
  });

  it('reports the position of a bad indentation', () => {
    const r = parseManifests('apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n', 'p.yaml');
    expect(r.errors[0]).toMatchObject({ line: 4, col: 9 });
    expect(renderManifestError(r.errors[0]!)).toMatch(/^p\.yaml:4:9: document 1: /);
  });

  it('duplicate keys are a syntax error with their position', () => {
    const r = parseManifests('apiVersion: v1\nkind: Pod\nkind: Pod\n', 'dup.yaml');
    expect(r.errors).toEqual([{ source: 'dup.yaml', line: 3, col: 1, message: 'document 1: Map keys must be unique', document: 0 }]);
  });

  it('an unresolved alias is an error, an alias bomb is refused', () => {
    expect(parseManifests('a: *nope\n', 'x.yaml').errors[0]?.message).toMatch(/^document 1: /);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const r = parseManifests(bomb.join('\n'), 'bomb.yaml');
    expect(r.docs).toEqual([]);
    expect(r.errors).toHaveLength(1);
  });

  it('refuses documents nested deeper than 128 levels, before composing them (repeatedly)', () => {
    for (const text of ['['.repeat(5000) + ']'.repeat(5000), '- '.repeat(5000) + 'v', '['.repeat(5000) + ']'.repeat(5000)]) {
      const r = parseManifests(text, 'deep.yaml');
      expect(r.docs).toEqual([]);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]?.message).toBe('document 1: nesting deeper than 128 levels');
    }
    const mixed = parseManifests(`${POD('a')}---\n${'['.repeat(200)}${']'.repeat(200)}\n---\n${POD('b')}`, 'm.yaml');
    expect(mixed.docs.map((d) => d.index)).toEqual([0, 2]);
    expect(renderManifestError(mixed.errors[0]!)).toBe('m.yaml:10:129: document 2: nesting deeper than 128 levels');
    expect(parseManifests(`${'['.repeat(128)}${']'.repeat(128)}`).errors).toEqual([]);
  });

  it('YAML 1.1 scalars as kubectl reads them', () => {
    const r = parseManifests('a: yes\nb: on\nc: 0755\nd: 2001-12-14\ne: 8080:80\nf: ~\n', 'x.yaml');
    expect(r.docs[0]?.value).toEqual({ a: true, b: true, c: 493, d: '2001-12-14', e: '8080:80', f: null });
    // So `value: yes` is not a string, as on a real cluster.
    const pod = loadPods(`${POD('p')}      env:\n        - name: A\n          value: yes\n`, 'p.yaml').pods[0];
    expect(pod?.errors.map((e) => `${e.field}: ${e.detail}`)).toEqual(['spec.containers[0].env[0].value: must be of type string']);
  });
});

describe('selectPods', () => {
  it('accepts List and PodList items', () => {
    const list = `apiVersion: v1
kind: List
items:
  - ${POD('a').trimEnd().split('\n').join('\n    ')}
  - ${POD('b').trimEnd().split('\n').join('\n    ')}
---
apiVersion: v1
kind: PodList
items:
  - metadata: {name: c}
    spec: {containers: [{name: c, image: busybox:1.36}]}
`;
    const r = loadPods(list, 'list.yaml');
    expect(r.errors).toEqual([]);
    expect(r.pods.map((p) => [p.name, p.document, p.item, p.line, p.errors.length])).toEqual([
      ['a', 0, 0, 4, 0],
      ['b', 0, 1, 12, 0],
      ['c', 1, 0, 24, 0],
    ]);
  });

  it('wrong kinds and apiVersions are errors naming the document', () => {
    const text = [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n',
      'apiVersion: apps/v1\nkind: Pod\n',
      'kind: Pod\n',
      '- just\n- a list\n',
      'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n  - {kind: Pod}\n  - 7\n',
      'apiVersion: v1\nkind: List\nitems: {}\n',
    ].join('---\n');
    const r = loadPods(text, 'mixed.yaml');
    expect(r.pods).toEqual([]);
    expect(r.errors.map(renderManifestError)).toEqual([
      'mixed.yaml:1:1: document 1: kind "Deployment" is not supported: podvisor runs Pods (kind Pod, List or PodList)',
      'mixed.yaml:5:1: document 2: apiVersion "apps/v1" is not supported for kind Pod, expected "v1"',
      'mixed.yaml:8:1: document 3: apiVersion not set',
      'mixed.yaml:10:1: document 4: expected a Kubernetes object (a mapping with apiVersion and kind), got array',
      'mixed.yaml:16: document 5: items[0]: kind "Service" is not supported: podvisor runs Pods',
      'mixed.yaml:18: document 5: items[1]: apiVersion not set',
      'mixed.yaml:19: document 5: items[2]: expected a Pod object, got number',
      'mixed.yaml:21:1: document 6: items must be a list, got object',
    ]);
  });

  it('selectPods works on parsed documents directly', () => {
    const r = selectPods(parseManifests(POD('x')).docs);
    expect(r.pods).toHaveLength(1);
    expect(r.errors).toEqual([]);
  });
});

describe('decodeManifestBytes', () => {
  it('accepts UTF-8 (with or without BOM)', () => {
    const r = decodeManifestBytes(new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('a: "é"\n')]), 'x.yaml');
    expect(r).toEqual({ ok: true, text: 'a: "é"\n' });
  });

  it('refuses bytes that are not UTF-8, with line and column', () => {
    const bytes = Buffer.concat([Buffer.from('apiVersion: v1\nkind: P'), Buffer.from([0xff, 0xfe]), Buffer.from('od\n')]);
    const r = decodeManifestBytes(bytes, 'bin.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(renderManifestError(r.error)).toBe('bin.yaml:2:8: invalid UTF-8 (byte 0xFF)');
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      expect(decodeManifestBytes(new Uint8Array(bad), 'b').ok).toBe(false);
    }
    expect(decodeManifestBytes(Buffer.from('€ 𝄞 ü'), 'b').ok).toBe(true);
  });
});
