import { describe, expect, it } from 'vitest';
import { scanJson } from '../../src/api/json-scan.js';

const ints = new Set(['terminationGracePeriodSeconds', 'values', 'containerPort']);

describe('scanJson', () => {
  it('reports duplicate keys with the API server strict-decoding paths, each once', () => {
    const text = JSON.stringify({ a: 1 }).replace('}', ',"a":2,"a":3}');
    expect(scanJson(text, { maxDepth: 10 }).duplicates).toEqual(['a']);
    const pod = '{"metadata":{"name":"x","labels":{"k":"1","k":"2"},"name":"y"},"spec":{"containers":[{"name":"a"},{"name":"b","image":"i","name":"c"}]}}';
    expect(scanJson(pod, { maxDepth: 10 }).duplicates).toEqual(['metadata.labels.k', 'metadata.name', 'spec.containers[1].name']);
    expect(scanJson('[{"a":1,"a":2}]', { maxDepth: 10 }).duplicates).toEqual(['[0].a']);
    // Escapes are decoded before comparing; equal strings in values are not keys.
    expect(scanJson('{"a":"a","\\u0061":1,"b":["a","a"]}', { maxDepth: 10 }).duplicates).toEqual(['a']);
    expect(scanJson('{"a":{"x":1},"b":{"x":1}}', { maxDepth: 10 }).duplicates).toEqual([]);
  });

  it('reports non-integer literals under integer keys (object members and array elements) with their paths', () => {
    const text = '{"spec":{"terminationGracePeriodSeconds":1e-400,"other":1.5,"containers":[{"ports":[{"containerPort":80.0}]}],"x":{"values":[1,2e0,-3]}}}';
    expect(scanJson(text, { maxDepth: 10, integerKeys: ints }).nonIntegers).toEqual([
      { path: ['spec', 'terminationGracePeriodSeconds'], literal: '1e-400' },
      { path: ['spec', 'containers', 0, 'ports', 0, 'containerPort'], literal: '80.0' },
      { path: ['spec', 'x', 'values', 1], literal: '2e0' },
    ]);
    expect(scanJson(text, { maxDepth: 10 }).nonIntegers).toEqual([]);
    expect(scanJson('{"values":"1.5","terminationGracePeriodSeconds":12}', { maxDepth: 10, integerKeys: ints }).nonIntegers).toEqual([]);
  });

  it('stops at the depth bound and reports nothing else', () => {
    expect(scanJson(`${'['.repeat(10)}${']'.repeat(10)}`, { maxDepth: 10 }).tooDeep).toBe(false);
    const deep = scanJson(`{"a":1,"a":2,"b":${'['.repeat(11)}${']'.repeat(11)}}`, { maxDepth: 10 });
    expect(deep).toEqual({ tooDeep: true, duplicates: [], nonIntegers: [] });
    // Brackets inside strings do not count.
    expect(scanJson(JSON.stringify({ s: '['.repeat(100) }), { maxDepth: 2 }).tooDeep).toBe(false);
  });

  it('never throws on invalid input and is linear: a 3 MB body scans in well under a second', () => {
    for (const bad of ['', '"', '{"a', '{"a":}', ']]]', '{"\\', '[1e', '{,,,"a":1,"a"']) expect(() => scanJson(bad, { maxDepth: 5, integerKeys: ints })).not.toThrow();
    const big = JSON.stringify({ items: Array.from({ length: 60_000 }, (_, i) => ({ name: `n${i}`, values: [i, 1.5], s: 'x'.repeat(20) })) });
    expect(big.length).toBeGreaterThan(3_000_000);
    const t0 = performance.now();
    const r = scanJson(big, { maxDepth: 128, integerKeys: ints });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.nonIntegers).toHaveLength(100);
  });
});
