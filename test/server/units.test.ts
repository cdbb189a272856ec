/**
 * Pure parts of the server: selectors, patches, Table cells, RFC3339Nano, log tails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { tailOffset } from '../../src/server/log-stream.js';
import { applyJsonPatch as applyBounded } from '../../src/server/json-patch.js';
import { jsonMergePatch, PatchError, strategicMergePatch, type Json } from '../../src/server/patch.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../src/server/selectors.js';
import { podCells } from '../../src/server/table.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', n: '5' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app = web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db, web)', true],
    ['app in (db)', false],
    ['app notin (db)', true],
    ['missing notin (db)', true],
    ['missing in (db)', false],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['n>3', true],
    ['n<3', false],
    ['app=', false],
    ['example.com/key=x', false],
  ];
  it.each(cases)('%s → %s', (sel, want) => {
    expect(matchLabels(parseLabelSelector(sel), labels)).toBe(want);
  });

  it.each(['app in web', 'app in (web', '=x', 'app=web,', 'a b', 'app notin ()', 'Bad Key=x', 'app=inv@lid', 'n>x'])('rejects %j', (sel) => {
    expect(() => parseLabelSelector(sel)).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  const fields = new Set(['metadata.name', 'status.phase']);
  const get = (f: string): string => ({ 'metadata.name': 'a,b=c', 'status.phase': 'Running' })[f] ?? '';
  it('parses =, ==, != and escaped values', () => {
    expect(parseFieldSelector('metadata.name=x,status.phase!=Failed', fields)).toEqual([
      { field: 'metadata.name', op: '=', value: 'x' },
      { field: 'status.phase', op: '!=', value: 'Failed' },
    ]);
    expect(parseFieldSelector('status.phase==Running', fields)).toEqual([{ field: 'status.phase', op: '=', value: 'Running' }]);
    expect(parseFieldSelector('', fields)).toEqual([]);
    const esc = parseFieldSelector('metadata.name=a\\,b\\=c', fields);
    expect(esc).toEqual([{ field: 'metadata.name', op: '=', value: 'a,b=c' }]);
    expect(matchFields(esc, get)).toBe(true);
    expect(matchFields(parseFieldSelector('status.phase!=Running', fields), get)).toBe(false);
  });
  it('rejects unknown fields and malformed terms', () => {
    expect(() => parseFieldSelector('spec.x=1', fields)).toThrow('field label not supported: spec.x');
    expect(() => parseFieldSelector('metadata.name', fields)).toThrow(SelectorError);
    expect(() => parseFieldSelector('metadata.name=a\\q', fields)).toThrow(SelectorError);
  });
});

describe('patches', () => {
  it('JSON merge patch (RFC 7386)', () => {
    const doc: Json = { a: 'b', c: { d: 'e', f: 'g' }, l: [1, 2] };
    expect(jsonMergePatch(doc, { a: 'z', c: { f: null }, l: [3] })).toEqual({ a: 'z', c: { d: 'e' }, l: [3] });
    expect(doc).toEqual({ a: 'b', c: { d: 'e', f: 'g' }, l: [1, 2] });
    expect(jsonMergePatch(doc, ['x'])).toEqual(['x']);
  });

  it('strategic merge patch merges pod lists by key and honours directives', () => {
    const pod: Json = {
      metadata: { labels: { a: '1' }, finalizers: ['x'] },
      spec: {
        containers: [
          { name: 'a', image: 'i1', env: [{ name: 'E', value: '1' }], ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'b', image: 'i2' },
        ],
        tolerations: [{ key: 't' }],
      },
    };
    const out = strategicMergePatch(pod, {
      metadata: { labels: { b: '2', a: null }, finalizers: ['y'] },
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
        containers: [
          { name: 'a', image: 'new', env: [{ name: 'F', value: '2' }] },
          { name: 'b', $patch: 'delete' },
          { name: 'c', image: 'i3' },
        ],
        tolerations: [{ key: 'u' }],
      },
    });
    expect(out).toEqual({
      metadata: { labels: { b: '2' }, finalizers: ['x', 'y'] },
      spec: {
        containers: [
          { name: 'a', image: 'new', env: [{ name: 'E', value: '1' }, { name: 'F', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'c', image: 'i3' },
        ],
        tolerations: [{ key: 'u' }],
      },
    });
    expect(strategicMergePatch(pod, { metadata: { $patch: 'replace', labels: { only: 'this' } } })).toMatchObject({ metadata: { labels: { only: 'this' } } });
    expect(strategicMergePatch(pod, { spec: { containers: [{ $patch: 'replace' }, { name: 'z', image: 'z' }] } })).toMatchObject({ spec: { containers: [{ name: 'z', image: 'z' }] } });
    expect(strategicMergePatch(pod, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } })).toMatchObject({ metadata: { finalizers: [] } });
    expect(strategicMergePatch({ a: 1, b: 2, c: 3 }, { $retainKeys: ['a', 'c'], c: 4 })).toEqual({ a: 1, c: 4 });
    expect(() => strategicMergePatch(pod, { $patch: 'explode' })).toThrow(PatchError);
  });

  it('JSON patch (RFC 6902)', async () => {
    const applyJsonPatch = (d: Json, ops: unknown): Promise<Json> => applyBounded(d, ops, { maxCopyBytes: 1 << 20, maxDepth: 128, maxWork: 1 << 20 });
    const doc: Json = { a: { b: [1, 2, 3] }, 'x/y': 1, 't~': 2 };
    expect(await applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'remove', path: '/a/b/1' },
      { op: 'replace', path: '/x~1y', value: 9 },
      { op: 'move', from: '/t~0', path: '/moved' },
      { op: 'copy', from: '/moved', path: '/copied' },
      { op: 'test', path: '/a/b', value: [0, 2, 3, 4] },
    ])).toEqual({ a: { b: [0, 2, 3, 4] }, 'x/y': 9, moved: 2, copied: 2 });
    expect(doc).toEqual({ a: { b: [1, 2, 3] }, 'x/y': 1, 't~': 2 });
    await expect(applyJsonPatch(doc, [{ op: 'test', path: '/a', value: 1 }])).rejects.toThrow('test failed');
    await expect(applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }])).rejects.toThrow(PatchError);
    await expect(applyJsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }])).rejects.toThrow(PatchError);
    await expect(applyJsonPatch(doc, [{ op: 'add', path: '/a/b/9', value: 1 }])).rejects.toThrow('index out of range');
    const malformed = await applyJsonPatch(doc, [{ op: 'frobnicate', path: '/a' }]).then(() => undefined, (e: unknown) => e as PatchError);
    expect(malformed?.badRequest).toBe(true);
  });
});

describe('table cells and formats', () => {
  it('computes the pod cells like kubectl', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', creationTimestamp: '2026-01-01T00:06:58Z' },
      spec: {
        initContainers: [{ name: 'init', image: 'x' }],
        containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x' }],
        readinessGates: [{ conditionType: 'x/ready' }],
      },
      status: {
        phase: 'Pending',
        podIP: '10.0.0.1',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        initContainerStatuses: [{ name: 'init', image: 'x', imageID: '', ready: false, restartCount: 3, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-01T00:09:48Z' } } }],
        containerStatuses: [
          { name: 'a', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } }, lastState: {} },
          { name: 'b', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } }, lastState: {} },
        ],
      },
    };
    expect(podCells(pod, now)).toEqual(['p', '0/2', 'Init:0/1', '3 (12s ago)', '3m2s', '10.0.0.1', 'podvisor', '<none>', '0/1']);
  });

  it('finds the start of the last lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podvisor-tail-'));
    try {
      const file = join(dir, 'log');
      const text = Array.from({ length: 30000 }, (_, i) => `line ${i}`).join('\n') + '\n';
      writeFileSync(file, text);
      const fh = await open(file, 'r');
      const size = Buffer.byteLength(text);
      expect(text.slice(await tailOffset(fh, size, 2))).toBe('line 29998\nline 29999\n');
      expect(await tailOffset(fh, size, 0)).toBe(size);
      expect(await tailOffset(fh, size, 100000)).toBe(0);
      expect(text.slice(await tailOffset(fh, size, 20000)).split('\n')[0]).toBe('line 10000');
      await fh.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
