/**
 * Image references: parsing and Docker's normalisation, as distribution/reference's
 * `ParseNormalizedNamed` and the kubelet read them.
 */
import { describe, expect, it } from 'vitest';
import { formatImageRef, parseImageRef } from '../../src/runtime/oci/reference.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseImageRef', () => {
  const good: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/team/app', 'docker.io/team/app:latest'],
    ['team/app:v2', 'docker.io/team/app:v2'],
    ['registry.example.com/training:v2.0', 'registry.example.com/training:v2.0'],
    ['registry.example.com:5000/a/b/c:x_y-z.1', 'registry.example.com:5000/a/b/c:x_y-z.1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
    ['127.0.0.1:5000/podvisor-test/layers:v1', '127.0.0.1:5000/podvisor-test/layers:v1'],
    ['[::1]:5000/x', '[::1]:5000/x:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`],
    ['my_team/app__x', 'docker.io/my_team/app__x:latest'],
    ['a-b--c/d.e', 'docker.io/a-b--c/d.e:latest'],
  ];
  for (const [input, want] of good) {
    it(`${input} is ${want}`, () => {
      const r = parseImageRef(input);
      expect('error' in r ? r.error : formatImageRef(r)).toBe(want);
    });
  }

  it('keeps the parts apart', () => {
    expect(parseImageRef('localhost:5000/a/b:c')).toEqual({ registry: 'localhost:5000', repository: 'a/b', tag: 'c' });
    expect(parseImageRef(`x@${D}`)).toEqual({ registry: 'docker.io', repository: 'library/x', digest: D });
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['BusyBox', /lowercase/],
    ['busybox:', /tag ""/],
    [':tag', /invalid reference format/],
    ['busybox:tag!', /tag "tag!"/],
    ['busybox@sha256:abc', /digest/],
    [`busybox@md5:${'a'.repeat(32)}`, /digest/],
    ['a b', /invalid reference format/],
    [' busybox', /invalid reference format/],
    ['-bad', /invalid reference format/],
    ['bad-/x', /invalid reference format/],
    ['a//b', /invalid reference format/],
    ['reg.example.com:port/x', /registry/],
    [`x/${'a'.repeat(260)}`, /255/],
  ];
  for (const [input, why] of bad) {
    it(`refuses ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
      const r = parseImageRef(input);
      expect('error' in r).toBe(true);
      if ('error' in r) expect(r.error).toMatch(why);
    });
  }
});
