/**
 * End-to-end on the oci runtime (`--runtime oci`): what images add beyond the shared restart
 * scenarios (those run on oci in run.test.ts and outlive.test.ts). Images come from a registry
 * on 127.0.0.1 (Debian's docker-registry) and are built from busybox-static in the test setup.
 *
 * - pull errors: `ErrImagePull` then `ImagePullBackOff` with growing delays, `ErrImageNeverPull`,
 *   a wrong digest, an invalid name;
 * - the security context: `runAsUser`, `readOnlyRootFilesystem` with a writable emptyDir,
 *   `capabilities.drop: [ALL]`, `runAsNonRoot` with a root image (the kubelet's message);
 * - the image cache: no blob is fetched again across a container restart and an in-place pod
 *   restart (`Always` re-checks the manifest only), and a re-create reuses the cache;
 * - the command is PID 1 of its container, as on Kubernetes: SIGTERM without a handler is ignored;
 * - `imagePullSecrets`: a private image (a registry behind token auth) pulls with the pod's
 *   `kubernetes.io/dockerconfigjson` Secret and is refused without it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, daemonRequest, ensureBuilt, freePort, manifest, statuses, tempDir, until } from './helpers.js';
import { ociProblem, ociRegistry, stopOciRegistry } from './oci-images.js';
import { ServeNode } from './serve-node.js';
import { buildBusybox, startRegistry } from '../oci/registry-fixture.js';

const missing = await ociProblem();
const tmp = tempDir('podvisor-oci-');
beforeAll(() => ensureBuilt());
afterAll(async () => {
  await stopOciRegistry();
  tmp.cleanup();
});

let busybox = '';
let host = '';

/** Runs a manifest on oci with its own image store (unless `imageDir`); the final pod and the live view. */
async function run(yaml: string, flags: string[] = [], imageDir = join(tmp.dir, `images-${Math.random().toString(36).slice(2)}`)) {
  const name = `pod-${Math.random().toString(36).slice(2)}.yaml`;
  const f = manifest(tmp.dir, name, yaml);
  const dataDir = join(tmp.dir, `data-${name}`);
  const r = await cli(['run', '-f', f, '-o', 'json', '-w', '--runtime', 'oci', '--image-dir', imageDir, '--data-dir', dataDir, ...flags], { timeoutMs: 90_000 });
  let pod: any;
  try {
    pod = JSON.parse(r.stdout);
  } catch {
    throw new Error(`no JSON on stdout (exit ${r.code})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { ...r, pod, st: statuses(pod), dataDir };
}

/** Requests of the registry since `from` (an index into its log), after it settled. */
async function requestsSince(from: number): Promise<string[]> {
  return (await (await ociRegistry()).registry.settle()).slice(from);
}
const requestCount = async (): Promise<number> => (await (await ociRegistry()).registry.settle()).length;
const blobGets = (reqs: string[], repo: string): string[] => reqs.filter((r) => r.startsWith(`GET /v2/${repo}/blobs/`));
const manifestGets = (reqs: string[], repo: string): string[] => reqs.filter((r) => r.startsWith(`GET /v2/${repo}/manifests/`));

describe.skipIf(missing !== undefined)('podvisor run --runtime oci', () => {
  beforeAll(async () => {
    busybox = (await ociRegistry()).busybox;
    host = busybox.split('/')[0] ?? '';
  });

  it('a missing image: ErrImagePull, then ImagePullBackOff, retried with growing delays', async () => {
    const from = await requestCount();
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: nopull}
spec:
  containers:
  - {name: c, image: ${host}/busybox:does-not-exist, command: [sh, -c, 'exit 0']}
`, ['--backoff-initial', '300ms', '--backoff-max', '10s', '--timeout', '4s']);
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/nopull\s+0\/1\s+ErrImagePull/);
    expect(r.stderr).toMatch(/nopull\s+0\/1\s+ImagePullBackOff/);
    expect(r.stderr).toContain(`Failed to pull image "${host}/busybox:does-not-exist"`);
    expect(r.stderr).toContain(`Back-off pulling image "${host}/busybox:does-not-exist"`);
    expect(r.stderr).toContain('Error: ErrImagePull');
    expect(r.stderr).toContain('Error: ImagePullBackOff');
    // Attempts at 0, 0.3, 0.9, 2.1 s (300 ms doubling): 4 in 4 s, where a fixed 300 ms would make 13.
    const attempts = manifestGets(await requestsSince(from), 'busybox').filter((q) => q.includes('does-not-exist'));
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(6);
    expect(r.st.c.restartCount).toBe(0);
  });

  it('imagePullPolicy Never with a missing image: ErrImageNeverPull, and no request to the registry', async () => {
    const from = await requestCount();
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: never}
spec:
  containers:
  - {name: c, image: ${busybox}, imagePullPolicy: Never, command: [sh, -c, 'exit 0']}
`, ['--timeout', '2s']);
    expect(r.stderr).toMatch(/never\s+0\/1\s+ErrImageNeverPull/);
    expect(r.stderr).toContain(`Container image "${busybox}" is not present with pull policy of Never`);
    expect(await requestsSince(from)).toEqual([]);
  });

  it('a wrong digest is refused (ErrImagePull); an invalid name is InvalidImageName', async () => {
    const wrong = `${host}/busybox@sha256:${'0'.repeat(64)}`;
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: wrong}
spec:
  containers:
  - {name: digest, image: "${wrong}", command: [sh, -c, 'exit 0']}
  - {name: name, image: "${host}/Not_A_Repo", command: [sh, -c, 'exit 0']}
`, ['--timeout', '2s']);
    expect(r.stderr).toContain(`Failed to pull image "${wrong}"`);
    expect(r.stderr).toMatch(/not found/);
    expect(r.stderr).toContain(`Failed to apply default image tag "${host}/Not_A_Repo": couldn't parse image reference "${host}/Not_A_Repo": invalid reference format`);
    expect(r.stderr).toMatch(/InvalidImageName/);
  });

  it('the security context: runAsUser, readOnlyRootFilesystem with a writable emptyDir, capabilities drop ALL', async () => {
    // CAP_NET_RAW is bit 13: the runtime's default set has it (CapEff a80425fb), drop ALL leaves nothing.
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: sec}
spec:
  restartPolicy: Never
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: uid
    image: ${busybox}
    securityContext: {runAsUser: 1000}
    command: [sh, -c, 'id -u; test "$(id -u)" = 1000 && test "$(id -g)" = 1000']
  - name: ro
    image: ${busybox}
    securityContext: {readOnlyRootFilesystem: true}
    volumeMounts: [{name: scratch, mountPath: /scratch}]
    command: [sh, -c, 'if touch /x 2>/dev/null; then exit 1; fi; touch /scratch/x || exit 2; echo ro-ok']
  - name: nocaps
    image: ${busybox}
    securityContext: {capabilities: {drop: [ALL]}}
    command: [sh, -c, 'grep CapEff /proc/self/status; grep -q "CapEff:.0000000000000000" /proc/self/status']
  - name: defaults
    image: ${busybox}
    command: [sh, -c, 'grep CapEff /proc/self/status; grep -q "CapEff:.00000000a80425fb" /proc/self/status && test "$(id -u)" = 0']
`);
    expect(r.code, r.stderr).toBe(0);
    for (const c of ['uid', 'ro', 'nocaps', 'defaults']) expect(r.st[c].state.terminated, c).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });

  it('termination messages: what the command wrote to terminationMessagePath; the log tail under FallbackToLogsOnError', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: messages}
spec:
  restartPolicy: Never
  containers:
  - {name: file, image: ${busybox}, command: [sh, -c, 'printf "checkpoint 7 corrupt" > /dev/termination-log; exit 3']}
  - {name: custom, image: ${busybox}, terminationMessagePath: /tmp/why, securityContext: {runAsUser: 1000}, command: [sh, -c, 'echo "as user $(id -u)" > /tmp/why']}
  - {name: logs, image: ${busybox}, terminationMessagePolicy: FallbackToLogsOnError, command: [sh, -c, 'echo first; echo last; exit 1']}
  - {name: quiet, image: ${busybox}, command: [sh, -c, 'echo not a message; exit 1']}
`);
    expect(r.st.file.state.terminated).toMatchObject({ exitCode: 3, message: 'checkpoint 7 corrupt' });
    expect(r.st.custom.state.terminated).toMatchObject({ exitCode: 0, message: 'as user 1000\n' });
    expect(r.st.logs.state.terminated).toMatchObject({ exitCode: 1, message: 'first\nlast' });
    expect(r.st.quiet.state.terminated.message).toBeUndefined();
  });

  it('volumes: an emptyDir is writable by a non-root user and carries fsGroup; a subPath symlink that leaves the volume is refused', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 2000}
  volumes: [{name: data, emptyDir: {}}]
  initContainers:
  - name: planter
    image: ${busybox}
    volumeMounts: [{name: data, mountPath: /data}]
    command: [sh, -c, 'ln -s / /data/escape; mkdir /data/ok; echo inside > /data/ok/f']
  containers:
  - name: writer
    image: ${busybox}
    securityContext: {runAsUser: 1000}
    volumeMounts: [{name: data, mountPath: /data}]
    command: [sh, -c, 'echo hi > /data/written || exit 1; test "$(stat -c %g /data/written)" = 2000 || exit 2; id -G | grep -qw 2000 || exit 3']
  - name: fine
    image: ${busybox}
    volumeMounts: [{name: data, mountPath: /sub, subPath: ok}]
    command: [sh, -c, 'test "$(cat /sub/f)" = inside']
  - name: victim
    image: ${busybox}
    volumeMounts: [{name: data, mountPath: /host, subPath: escape}]
    command: [sh, -c, 'ls /host/etc']
`, ['--timeout', '3s']);
    expect(r.stderr).toContain('Error: failed to prepare subPath for volumeMount "data" of container "victim": the subPath "escape" leaves the volume');
    expect(r.st.writer.state.terminated.exitCode).toBe(0);
    expect(r.st.fine.state.terminated.exitCode).toBe(0);
    expect(r.st.victim.state.terminated?.exitCode ?? 'never ran').not.toBe(0);
  });

  it('runAsNonRoot with an image that runs as root is refused with the kubelet\'s message', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: c, image: ${busybox}, command: [sh, -c, 'sleep 1']}
`, ['--timeout', '2s']);
    const uid = r.pod.metadata.uid as string;
    expect(r.stderr).toMatch(/nonroot\s+0\/1\s+CreateContainerConfigError/);
    expect(r.stderr).toContain(`Error: container has runAsNonRoot and image will run as root (pod: "nonroot_default(${uid})", container: c)`);
  });

  it('the image cache: a container restart and an in-place pod restart fetch no blob (Always re-checks the manifest only); status image and imageID', async () => {
    const imageDir = join(tmp.dir, 'images-cache');
    const from = await requestCount();
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: cached}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: ${busybox}
    imagePullPolicy: Always
    restartPolicy: Never
    restartPolicyRules:
    - {action: Restart, exitCodes: {operator: In, values: [3]}}
    - {action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}
    command: [sh, -c, 'if [ "$PODVISOR_RESTART_COUNT" = 0 ]; then exit 3; fi; if [ "$PODVISOR_POD_RESTART_COUNT" = 0 ]; then exit 42; fi; exit 0']
`, ['--backoff-initial', '0'], imageDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.st.c.restartCount).toBe(2);
    expect(r.stderr).toMatch(/RESTART container/);
    expect(r.stderr).toMatch(/RESTART pod in place/);
    const reqs = await requestsSince(from);
    // One pull: the config and the one layer, once; three starts: three manifest checks.
    expect(blobGets(reqs, 'busybox')).toHaveLength(2);
    expect(manifestGets(reqs, 'busybox')).toHaveLength(3);
    // The live view showed the pull (one line per blob when not on a TTY).
    expect(r.stderr).toMatch(/pulling pod\/cached \[c\] layer [0-9a-f]{12}: [\d.]+[kM]?B \/ [\d.]+[kM]?B/);
    expect(r.stderr).not.toMatch(/notice: .*--runtime oci/);
    expect(r.st.c.image).toBe(busybox);
    expect(r.st.c.imageID).toMatch(new RegExp(`^${host.replace(/\./g, '\\.')}/busybox@sha256:[0-9a-f]{64}$`));

    // IfNotPresent with the image in the store: not one request.
    const again = await requestCount();
    const r2 = await run(`
apiVersion: v1
kind: Pod
metadata: {name: present}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: ${busybox}, imagePullPolicy: IfNotPresent, command: [sh, -c, 'exit 0']}
`, [], imageDir);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toContain(`Container image "${busybox}" already present on machine`);
    expect(await requestsSince(again)).toEqual([]);
  });

  it('the command is PID 1, as on Kubernetes: without a handler SIGTERM is ignored and the grace period ends it (137); with an init annotation it stops at once (143)', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: pid1}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: ${busybox}, command: [sh, -c, 'echo pid $$; while true; do sleep 0.1; done']}
---
apiVersion: v1
kind: Pod
metadata: {name: withinit, annotations: {podvisor.io/container-init: "true"}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: ${busybox}, command: [sh, -c, 'echo pid $$; while true; do sleep 0.1; done']}
`, ['--timeout', '1s']);
    const items = r.pod.items as any[];
    const plain = statuses(items.find((p) => p.metadata.name === 'pid1'));
    const init = statuses(items.find((p) => p.metadata.name === 'withinit'));
    expect(plain.c.state.terminated.exitCode).toBe(137);
    expect(init.c.state.terminated.exitCode).toBe(143);
  });
});

describe.skipIf(missing !== undefined)('podvisor serve --runtime oci', () => {
  it('a re-create builds a new sandbox and reuses the image cache; the image is listed with its pod and cannot be removed', async () => {
    busybox = (await ociRegistry()).busybox;
    host = busybox.split('/')[0] ?? '';
    const n = new ServeNode('oci', await freePort(), tmp.dir, 'recreate', ['--image-dir', join(tmp.dir, 'images-serve')]);
    await n.start();
    try {
      await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: c, image: ${busybox}, command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.1; done']}
`);
      const first = await until('web running', async () => { const p = await n.pod('web'); return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined; });
      // The image is listed with the pod that uses it, and cannot be removed while it does.
      const imageDir = ['--image-dir', join(tmp.dir, 'images-serve')];
      const listed = await cli(['images', ...imageDir]);
      const row = listed.stdout.split('\n').find((l) => l.startsWith(`${host}/busybox `))?.split(/\s+/);
      expect(row?.[1]).toBe('1.36');
      expect(row?.[5]).toBe('default/web');
      const rmi = await cli(['rmi', busybox, ...imageDir]);
      expect(rmi.code).toBe(1);
      expect(rmi.stderr).toBe(`error: image ${busybox} is used by pod default/web: delete it first\n`);
      const from = await requestCount();
      const r = await cli(['recreate', 'pod', 'web', '--server', `https://127.0.0.1:${n.port}`, '--data-dir', n.dataDir]);
      expect(r.code, r.stderr).toBe(0);
      const second = await until('web re-created and running', async () => {
        const p = await n.pod('web');
        return p.metadata?.uid !== first.metadata.uid && p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
      });
      expect(second.status.containerStatuses[0].imageID).toBe(first.status.containerStatuses[0].imageID);
      // The default policy of a tagged image is IfNotPresent: the new sandbox's container needed no request.
      expect(await requestsSince(from)).toEqual([]);
    } finally {
      await n.cleanup();
    }
  });
});

describe.skipIf(missing !== undefined)('podvisor serve --runtime oci: imagePullSecrets', () => {
  it('a private image pulls with the pod\'s kubernetes.io/dockerconfigjson Secret; without it the registry refuses (ErrImagePull) and a missing Secret is a warning', async () => {
    const reg = await startRegistry({ tokenAuth: true });
    const n = new ServeNode('oci', await freePort(), tmp.dir, 'secrets', ['--image-dir', join(tmp.dir, 'images-secrets')]);
    try {
      const image = await buildBusybox(reg);
      const token = reg.token;
      if (!token) throw new Error('no token server');
      await n.start();
      const auth = Buffer.from(`${token.user}:${token.password}`).toString('base64');
      const dockerconfig = Buffer.from(JSON.stringify({ auths: { [reg.host]: { username: token.user, password: token.password, auth } } })).toString('base64');
      const created = await daemonRequest(n.dataDir, n.port, '/api/v1/namespaces/default/secrets', {
        method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerconfig } }),
      });
      expect(created.status, created.body).toBe(201);
      const pod = (name: string, secrets: string[]) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  imagePullSecrets: [${secrets.map((s) => `{name: ${s}}`).join(', ')}]
  containers:
  - {name: c, image: ${image}, command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.1; done']}
`;
      await n.apply(pod('anon', []));
      const refused = await until('anon refused', async () => {
        const st = (await n.pod('anon')).status?.containerStatuses?.[0]?.state?.waiting;
        return st?.reason === 'ErrImagePull' || st?.reason === 'ImagePullBackOff' ? st : undefined;
      }, 60_000);
      expect(refused.message ?? '').toMatch(/refused anonymous access|ImagePullBackOff|Back-off/);
      await n.apply(pod('withsecret', ['nope', 'regcred']));
      await until('withsecret runs', async () => (await n.pod('withsecret')).status?.containerStatuses?.[0]?.state?.running, 60_000);
      const events = (await n.get('/api/v1/namespaces/default/events')).items.filter((e: any) => e.involvedObject.name === 'withsecret');
      expect(events.map((e: any) => `${e.reason}: ${e.message}`)).toContain('FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (nope); attempting to pull the image may not succeed.');
      // The token service saw the secret's credentials.
      expect(token.requests().length).toBeGreaterThan(0);
    } finally {
      await n.cleanup();
      await reg.stop();
    }
  });
});

