/**
 * Helpers of the attach tests (attach.test.ts): pods on each runtime with a `start` that takes
 * the stdio fields, and stream collectors that wait with deadlines.
 */
import type { SandboxRuntime } from '../../src/runtime/sandbox.js';
import type { ContainerHandle, ContainerRuntime, ContainerStartSpec, ContainerStdio, Sandbox } from '../../src/runtime/types.js';
import { BUSYBOX_IMAGE } from '../oci/registry-fixture.js';
import { rand, waitFor } from './helpers.js';

/** The prompt the tests' interactive shells print. */
export const PS1 = 'pv-prompt> ';

/** One pod with a running runtime, as each case needs it. */
export interface Pod {
  rt: ContainerRuntime;
  sb: Sandbox;
  /** Runs `images` (busybox), not host commands. */
  oci: boolean;
  /** Starts a container running `sh -c script` (or `argv`) with these stdio fields. */
  start(name: string, script: string, stdio?: ContainerStdio, argv?: string[]): Promise<ContainerHandle>;
  close(): Promise<void>;
}

/** The stdio fields of the cases: stdin; stdin closed by the first attach's end; a terminal with stdin. */
export const STDIN: ContainerStdio = { stdin: true, stdinOnce: false, tty: false };
export const STDIN_ONCE: ContainerStdio = { stdin: true, stdinOnce: true, tty: false };
export const TTY: ContainerStdio = { stdin: true, stdinOnce: false, tty: true };

/** A pod on a runtime that runs host commands (`host`, `sandbox`). */
export async function hostCommandPod(rt: ContainerRuntime): Promise<Pod> {
  const podUid = `uid-${rand()}`;
  const sb = await rt.createSandbox({ podUid, podName: 'p', namespace: 'default', emptyDirs: [] });
  return {
    rt, sb, oci: false,
    start: (name, script, stdio, argv) => rt.startContainer({
      sandbox: sb, podName: 'p', namespace: 'default', name, attempt: 0, argv: argv ?? ['/bin/sh', '-c', script],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', PS1 }, mounts: [], ...(stdio ? { stdio } : {}),
    }),
    close: async () => {
      await rt.releaseSandbox(sb, { deleteData: true }).catch(() => {});
      await rt.close();
    },
  };
}

/** Everything a stream yields so far, and whether it ended. */
export function collect(s: NodeJS.ReadableStream | undefined): { text: () => string; ended: Promise<void> } {
  let text = '';
  s?.on('data', (d: Buffer | string) => { text += d.toString(); });
  const ended = new Promise<void>((resolve) => {
    if (!s) resolve();
    s?.once('end', () => resolve());
    s?.once('close', () => resolve());
  });
  return { text: () => text, ended };
}

/** Waits until `out` contains `what`; the failure shows what came. */
export async function see(out: { text: () => string }, what: string | RegExp, what2 = String(what)): Promise<void> {
  const has = (): boolean => (typeof what === 'string' ? out.text().includes(what) : what.test(out.text()));
  await waitFor(has, 15_000, what2).catch((err: unknown) => {
    throw new Error(`${String(err)}; got ${JSON.stringify(out.text())}`);
  });
}

/** A pod on the oci runtime, whose containers run busybox `image` (pulled here). */
export async function imagePod(rt: ContainerRuntime, image: string): Promise<Pod> {
  const name = rt.images?.normalise(image);
  if (!name || 'error' in name) throw new Error(`bad image reference ${image}`);
  const pulled = (await rt.images?.local(name.name)) ?? (await rt.images?.pull(name.name))?.image;
  if (!pulled) throw new Error('no image');
  const podUid = `uid-${rand()}`;
  const sb = await rt.createSandbox({ podUid, podName: 'p', namespace: 'default', emptyDirs: [] });
  const spec = (n: string, script: string, stdio: ContainerStdio | undefined, argv: string[] | undefined): ContainerStartSpec => {
    const args = argv ?? ['sh', '-c', script];
    return {
      sandbox: sb, podName: 'p', namespace: 'default', name: n, attempt: 0, argv: args, env: {}, mounts: [], ...(stdio ? { stdio } : {}),
      image: {
        image: pulled,
        process: { args, env: [...BUSYBOX_IMAGE.env, 'HOME=/root', `PS1=${PS1}`], cwd: '/', user: { uid: 0 } },
        security: { privileged: false, add: [], drop: [], readOnlyRootFilesystem: false, supplementalGroups: [] },
      },
    };
  };
  return {
    rt, sb, oci: true,
    start: (n, script, stdio, argv) => rt.startContainer(spec(n, script, stdio, argv)),
    close: async () => {
      await rt.releaseSandbox(sb, { deleteData: true }).catch(() => {});
      await rt.close();
    },
  };
}

/** The next process re-attaches the pod's sandbox (same IP), as the agent does at start. */
export async function reattachSandboxes(rt: ContainerRuntime, podUid: string): Promise<void> {
  await (rt as SandboxRuntime).reapAllSandboxes(new Set([podUid]));
}

