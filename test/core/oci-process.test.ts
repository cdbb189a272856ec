/**
 * A container's process from its image and its spec, as Kubernetes combines them: the table of
 * "Define a command and arguments for a container", environment merge, working dir, user and
 * the kubelet's runAsNonRoot messages.
 */
import { describe, expect, it } from 'vitest';
import type { Container, Pod, PodSecurityContext, SecurityContext } from '../../src/api/types.js';
import { containerArgs, containerProcess, mergeEnv, parseImageUser, type ImageProcessConfig } from '../../src/core/oci-process.js';

const image: ImageProcessConfig = { Entrypoint: ['/ep', '-x'], Cmd: ['cmd-a', 'cmd-b'], Env: ['PATH=/bin', 'A=image', 'B=image'], WorkingDir: '/work', User: '' };
const pod = (): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u-1' }, spec: { containers: [] } });
const ctr = (extra: Partial<Container> = {}): Container => ({ name: 'c', image: 'x', ...extra });

describe('command and arguments (Kubernetes\' table)', () => {
  const rows: [string, Partial<Container>, ImageProcessConfig, string[] | string][] = [
    ['neither: Entrypoint + Cmd', {}, image, ['/ep', '-x', 'cmd-a', 'cmd-b']],
    ['command only: the image\'s Cmd is ignored', { command: ['/c'] }, image, ['/c']],
    ['args only: Entrypoint + args', { args: ['a1'] }, image, ['/ep', '-x', 'a1']],
    ['both: command + args', { command: ['/c'], args: ['a1', 'a2'] }, image, ['/c', 'a1', 'a2']],
    ['neither, image with Cmd only', {}, { Cmd: ['/bin/sh'] }, ['/bin/sh']],
    ['args only, image without Entrypoint: args alone', { args: ['/bin/true'] }, { Cmd: ['/bin/sh'] }, ['/bin/true']],
    ['empty lists count as absent', { command: [], args: [] }, image, ['/ep', '-x', 'cmd-a', 'cmd-b']],
    ['null Entrypoint and Cmd (as images write them)', { command: ['/c'] }, { Entrypoint: null, Cmd: null }, ['/c']],
    ['nothing anywhere', {}, { Entrypoint: null, Cmd: null }, 'no command specified'],
  ];
  for (const [name, c, img, want] of rows) {
    it(name, () => {
      const got = containerArgs(img, c);
      expect('error' in got ? got.error : got).toEqual(want);
    });
  }
});

describe('environment, working dir, user', () => {
  it('container variables replace the image\'s in place and new ones follow', () => {
    expect(mergeEnv(['PATH=/bin', 'A=image', 'B=image', 'BROKEN'], { B: 'ctr', C: 'ctr', PATH: '/usr/bin' })).toEqual(['PATH=/usr/bin', 'A=image', 'B=ctr', 'C=ctr']);
  });

  it('working dir: the container\'s, else the image\'s, else /', () => {
    const cwd = (c: Partial<Container>, img: ImageProcessConfig): string => {
      const p = containerProcess(pod(), ctr(c), img, {});
      return 'configError' in p ? p.configError : p.cwd;
    };
    expect(cwd({ workingDir: '/mine', command: ['x'] }, image)).toBe('/mine');
    expect(cwd({ command: ['x'] }, image)).toBe('/work');
    expect(cwd({ command: ['x'] }, { WorkingDir: '' })).toBe('/');
  });

  it('parses the image\'s User', () => {
    expect(parseImageUser(undefined)).toEqual({ user: { uid: 0 } });
    expect(parseImageUser('1000')).toEqual({ user: { uid: 1000 } });
    expect(parseImageUser('1000:50')).toEqual({ user: { uid: 1000 }, group: { gid: 50 } });
    expect(parseImageUser('nobody:nogroup')).toEqual({ user: { name: 'nobody' }, group: { name: 'nogroup' } });
  });

  const user = (podSc: PodSecurityContext, sc: SecurityContext, img: ImageProcessConfig): unknown => {
    const r = containerProcess(pod(), ctr({ command: ['x'] }), img, {}, { pod: podSc, container: sc });
    return 'configError' in r ? r.configError : { user: r.user, group: r.group };
  };
  it('runAsUser/runAsGroup (container over pod) over the image\'s user, whose group Kubernetes drops', () => {
    expect(user({}, {}, { User: '1000:50' })).toEqual({ user: { uid: 1000 }, group: undefined });
    expect(user({}, {}, { User: 'app' })).toEqual({ user: { name: 'app' }, group: undefined });
    expect(user({ runAsUser: 7, runAsGroup: 8 }, {}, { User: 'app' })).toEqual({ user: { uid: 7 }, group: { gid: 8 } });
    expect(user({ runAsUser: 7, runAsGroup: 8 }, { runAsUser: 9 }, {})).toEqual({ user: { uid: 9 }, group: { gid: 8 } });
    expect(user({}, { runAsGroup: 3 }, { User: '1000' })).toEqual({ user: { uid: 1000 }, group: { gid: 3 } });
  });

  it('runAsNonRoot: the kubelet\'s messages', () => {
    const nonRoot: PodSecurityContext = { runAsNonRoot: true };
    expect(user(nonRoot, {}, { User: '' })).toBe('container has runAsNonRoot and image will run as root (pod: "p_ns(u-1)", container: c)');
    expect(user(nonRoot, {}, { User: '0:0' })).toBe('container has runAsNonRoot and image will run as root (pod: "p_ns(u-1)", container: c)');
    expect(user(nonRoot, {}, { User: 'app' })).toBe('container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "p_ns(u-1)", container: c)');
    expect(user(nonRoot, { runAsUser: 0 }, { User: '1000' })).toBe('container\'s runAsUser breaks non-root policy (pod: "p_ns(u-1)", container: c)');
    expect(user(nonRoot, {}, { User: '1000' })).toEqual({ user: { uid: 1000 }, group: undefined });
    expect(user(nonRoot, { runAsUser: 5 }, { User: '' })).toEqual({ user: { uid: 5 }, group: undefined });
    // The container's false wins over the pod's true.
    expect(user(nonRoot, { runAsNonRoot: false }, { User: '' })).toEqual({ user: { uid: 0 }, group: undefined });
  });

  it('a container without any command is the runtime\'s error', () => {
    expect(containerProcess(pod(), ctr(), { Cmd: null }, {})).toEqual({ configError: 'no command specified' });
  });
});
