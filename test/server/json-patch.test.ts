/**
 * JSON patch internals the request tests do not reach: copies share their value until one of
 * the places is changed (copy-on-write), and every bound gives its error.
 */
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from '../../src/server/json-patch.js';
import { measureJson } from '../../src/server/json-measure.js';
import { PatchError, PatchTooLargeError, type Json } from '../../src/server/patch.js';

const limits = { maxCopyBytes: 1 << 20, maxDepth: 16, maxWork: 1 << 20 };
const apply = (doc: Json, ops: unknown[]): Promise<Json> => applyJsonPatch(doc, ops, limits);

describe('JSON patch copies', () => {
  it('a copy changed afterwards does not change its source, nor the source its copy', async () => {
    const doc: Json = { a: { b: [1, { c: 2 }] } };
    const out = await apply(doc, [
      { op: 'copy', from: '/a', path: '/x' },
      { op: 'copy', from: '/a/b', path: '/a/b/-' },
      { op: 'replace', path: '/x/b/1/c', value: 3 },
      { op: 'add', path: '/a/b/2/0', value: 0 },
      { op: 'remove', path: '/a/b/1/c' },
      { op: 'move', from: '/x/b', path: '/a/moved' },
      { op: 'add', path: '/a/moved/-', value: 'm' },
      { op: 'copy', from: '', path: '/root' },
      { op: 'replace', path: '/root/a/b/0', value: 'r' },
    ]);
    expect(out).toEqual({
      a: { b: [1, {}, [0, 1, { c: 2 }]], moved: [1, { c: 3 }, 'm'] },
      x: {},
      root: { a: { b: ['r', {}, [0, 1, { c: 2 }]], moved: [1, { c: 3 }, 'm'] }, x: {} },
    });
    expect(doc).toEqual({ a: { b: [1, { c: 2 }] } });
    // The result is a tree: no value appears twice.
    const seen = new Set<object>();
    const walk = (v: unknown): void => {
      if (typeof v !== 'object' || v === null) return;
      expect(seen.has(v)).toBe(false);
      seen.add(v);
      for (const x of Object.values(v)) walk(x);
    };
    walk(out);
  });

  it('counts each copy at its full size against the copy budget, and refuses too deep a result', async () => {
    const ops: unknown[] = [{ op: 'add', path: '/x', value: Array.from({ length: 64 }, (_, i) => i) }];
    for (let i = 0; i < 30; i++) ops.push({ op: 'copy', from: '/x', path: '/x/-' });
    const err = await apply({}, ops).then(() => undefined, (e: unknown) => e);
    // Depth grows by one per copy into itself: the depth bound (16) or the copy budget stops it.
    expect(err).toBeInstanceOf(PatchError);
    expect((err as Error).message).toMatch(/nested deeper than 16 levels|Unable to complete the copy/);
    const flat: unknown[] = [{ op: 'add', path: '/x', value: 'x'.repeat(100_000) }];
    for (let i = 0; i < 20; i++) flat.push({ op: 'copy', from: '/x', path: `/y${i}` });
    await expect(apply({}, flat)).rejects.toThrow(/^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 1048576$/);
    // Within the budget, the result is as large as its copies.
    const ok = await apply({}, flat.slice(0, 9));
    expect(measureJson(ok, Infinity, 16).bytes).toBeGreaterThan(800_000);
  });

  it('refuses more operations than the API server allows, and work beyond the budget', async () => {
    const many = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '', value: {} }));
    await expect(apply({}, many)).rejects.toBeInstanceOf(PatchTooLargeError);
    const shifts: unknown[] = [{ op: 'add', path: '/x', value: new Array(100_000).fill(0) }];
    for (let i = 0; i < 20; i++) shifts.push({ op: 'add', path: '/x/0', value: 1 });
    await expect(apply({}, shifts)).rejects.toThrow(/too costly/);
  });
});
