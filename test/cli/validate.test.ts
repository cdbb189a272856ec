// `podvisor validate`, run as the built CLI (node bin/podvisor.js), as users run it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';

function podvisor(args: string[], input?: string | Buffer): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'podvisor.js'), ...args], { cwd: ROOT, input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

beforeAll(() => {
  // Always build: dist/ must reflect the sources under test.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
  dir = mkdtempSync(join(tmpdir(), 'podvisor-validate-'));
}, 150_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const EXAMPLES: [string, string][] = [
  ['restart-on-exit-code.yaml', 'restart-on-exit-codes'],
  ['try-once-init.yaml', 'fail-pod-if-init-fails'],
  ['per-container-policies.yaml', 'on-failure-pod'],
  ['ml-training-restart-all.yaml', 'ml-training'],
];

describe('podvisor validate', () => {
  it.each(EXAMPLES)('examples/%s is valid', (example, name) => {
    const r = podvisor(['validate', '-f', join('examples', example)]);
    expect(r).toEqual({ code: 0, stdout: `pod/${name} valid\n`, stderr: '' });
  });

  it('accepts several -f and reads stdin with -f -', () => {
    const stdin = `apiVersion: v1\nkind: Pod\nmetadata: {name: from-stdin}\nspec: {containers: [{name: c, image: busybox:1.36}]}\n`;
    const r = podvisor(['validate', '-f', 'examples/try-once-init.yaml', '-f', '-', '--filename', 'examples/per-container-policies.yaml'], stdin);
    expect(r).toEqual({ code: 0, stdout: 'pod/fail-pod-if-init-fails valid\npod/from-stdin valid\npod/on-failure-pod valid\n', stderr: '' });
  });

  it('an invalid pod exits 1 and prints every error in the API server format', () => {
    const p = file(
      'invalid.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: broken
  annotations:
    podvisor.io/restart-window: soon
spec:
  restartPolicy: Sometimes
  containers:
    - name: Bad_Name
      image: busybox:1.36
      restartPolicyRules:
        - action: Kill
          exitCodes: {operator: Equals, values: [1]}
`,
    );
    const r = podvisor(['validate', '-f', p]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'The Pod "broken" is invalid:',
        '* metadata.annotations[podvisor.io/restart-window]: Invalid value: "soon": must be a positive duration',
        "* spec.containers[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        '* spec.containers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used',
        '* spec.containers[0].restartPolicyRules[0].action: Unsupported value: "Kill": supported values: "Restart", "RestartAllContainers"',
        '* spec.containers[0].restartPolicyRules[0].exitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"',
        '* spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        '',
      ].join('\n'),
    );
  });

  it('one error is printed inline; valid pods of the same file are still reported', () => {
    const p = file(
      'mixed.yaml',
      `apiVersion: v1
kind: Pod
metadata: {name: good}
spec: {containers: [{name: c, image: busybox:1.36}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec: {containers: [{name: c}]}
`,
    );
    const r = podvisor(['validate', '-f', p]);
    expect(r).toEqual({ code: 1, stdout: 'pod/good valid\n', stderr: 'The Pod "bad" is invalid: spec.containers[0].image: Required value\n' });
  });

  it('warnings go to stderr as "Warning: <text>" and do not fail', () => {
    const p = file(
      'warn.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: warned
  annotations: {podvisor.io/colour: red}
spec:
  containers: [{name: c, image: busybox:1.36, colour: blue}]
`,
    );
    expect(podvisor(['validate', '-f', p])).toEqual({
      code: 0,
      stdout: 'pod/warned valid\n',
      stderr: 'Warning: unknown field "spec.containers[0].colour"\nWarning: metadata.annotations[podvisor.io/colour]: unknown podvisor.io annotation, ignored\n',
    });
  });

  it('malformed YAML exits 2 naming the file, line and column', () => {
    const p = file('malformed.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   oops: 1\n');
    const r = podvisor(['validate', '-f', p]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:9: document 1: .+\n$`));
  });

  it('bytes that are not UTF-8 exit 2 with line and column', () => {
    const p = file('binary.yaml', Buffer.concat([Buffer.from('apiVersion: v1\nkind: Pod\nmetadata: {name: '), Buffer.from([0xc3, 0x28]), Buffer.from('}\n')]));
    expect(podvisor(['validate', '-f', p])).toEqual({ code: 2, stdout: '', stderr: `error: ${p}:3:18: invalid UTF-8 (byte 0xC3)\n` });
  });

  it('a missing file or a wrong kind exits 2; a file error wins over an invalid pod', () => {
    const missing = join(dir, 'nope.yaml');
    expect(podvisor(['validate', '-f', missing])).toEqual({ code: 2, stdout: '', stderr: `error: ${missing}: cannot read: no such file or directory\n` });
    const p = file('kinds.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n---\napiVersion: apps/v1\nkind: Deployment\n');
    expect(podvisor(['validate', '-f', p])).toEqual({
      code: 2,
      stdout: '',
      stderr: `The Pod "x" is invalid: spec.containers: Required value\nerror: ${p}:6:1: document 2: kind "Deployment" is not supported: podvisor reads Pods and the Namespaces, ConfigMaps and Secrets they use (kind Pod, Namespace, ConfigMap or Secret, or a List of them)\n`,
    });
  });

  it('a bundle: Namespaces, ConfigMaps and Secrets are validated with the pods, in file order', () => {
    const p = file('bundle.yaml', `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings, namespace: demo}
  data: {mode: slow}
- apiVersion: v1
  kind: Secret
  metadata: {name: creds, namespace: demo}
  stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: demo}
spec:
  containers:
  - name: main
    image: busybox:1.36
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
`);
    expect(podvisor(['validate', '-f', p])).toEqual({
      code: 0,
      stdout: 'namespace/demo valid\nconfigmap/settings valid\nsecret/creds valid\npod/reader valid\n',
      stderr: '',
    });
  });

  it('invalid objects of a bundle exit 1 with the API server\'s errors, every error at once; their warnings too', () => {
    const p = file('bad-objects.yaml', `apiVersion: v1
kind: ConfigMap
metadata: {name: Bad_Name}
data: {"a b": x}
colour: red
---
apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
data: {tls.crt: YQ==}
---
apiVersion: v1
kind: Namespace
metadata: {name: fine}
`);
    const r = podvisor(['validate', '-f', p]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('namespace/fine valid\n');
    expect(r.stderr).toBe([
      'Warning: unknown field "colour"',
      'The ConfigMap "Bad_Name" is invalid:',
      `* metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      `* data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
      'The Secret "tls" is invalid: data[tls.key]: Required value',
      '',
    ].join('\n'));
  });

  it('an empty file or no -f exits 2', () => {
    const p = file('empty.yaml', '# nothing\n');
    expect(podvisor(['validate', '-f', p])).toEqual({ code: 2, stdout: '', stderr: `error: ${p}: no objects found\n` });
    expect(podvisor(['validate']).code).toBe(2);
  });
});
