// General Pod validation a 1.36 API server performs (D11), with upstream's messages.
import { describe, expect, it } from 'vitest';
import { validatePod, renderFieldError, type Pod } from '../../src/api/index.js';
import { basePod, check, ctr } from './helpers.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

describe('metadata', () => {
  it('name is required unless generateName is set', () => {
    const pod = basePod();
    delete (pod.metadata as Record<string, unknown>).name;
    expect(check(pod).errors).toEqual(['metadata.name: Required value: name or generateName is required']);
    const gen = basePod({}, { name: undefined, generateName: 'worker-' });
    expect(check(gen).errors).toEqual([]);
    expect(check(gen).loaded.name).toBe('worker-');
    expect(check(basePod({}, { name: undefined, generateName: 'Worker-' })).errors).toEqual([
      `metadata.generateName: Invalid value: "Worker-": ${SUBDOMAIN_MSG}`,
    ]);
  });

  it('name must be a DNS-1123 subdomain', () => {
    expect(check(basePod({}, { name: 'Foo_' })).errors).toEqual([`metadata.name: Invalid value: "Foo_": ${SUBDOMAIN_MSG}`]);
    expect(check(basePod({}, { name: 'web.example-1' })).errors).toEqual([]);
    const long = 'a'.repeat(254);
    expect(check(basePod({}, { name: long })).errors).toEqual([`metadata.name: Invalid value: "${long}": must be no more than 253 characters`]);
  });

  it('namespace must be a DNS-1123 label and defaults to "default"', () => {
    expect(check(basePod()).loaded.pod.metadata.namespace).toBe('default');
    expect(check(basePod({}, { namespace: 'Team_A' })).errors).toEqual([`metadata.namespace: Invalid value: "Team_A": ${LABEL_MSG}`]);
    expect(check(basePod({}, { namespace: 'a.b' })).errors).toEqual(['metadata.namespace: Invalid value: "a.b": must not contain dots']);
  });

  it('label keys and values', () => {
    const long = 'v'.repeat(64);
    expect(check(basePod({}, { labels: { app: long } })).errors).toEqual([
      `metadata.labels: Invalid value: "${long}": must be no more than 63 characters`,
    ]);
    expect(check(basePod({}, { labels: { app: 'a b' } })).errors).toEqual([
      "metadata.labels: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]);
    expect(check(basePod({}, { labels: { '-bad': 'x' } })).errors).toEqual([
      "metadata.labels: Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]);
    expect(check(basePod({}, { labels: { 'example.com/app': '', 'app.kubernetes.io/name': 'web' } })).errors).toEqual([]);
  });

  it('annotation keys are qualified names (case-insensitive) and total size is limited', () => {
    expect(check(basePod({}, { annotations: { 'a/b/c': 'x' } })).errors).toEqual([
      "metadata.annotations: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ]);
    expect(check(basePod({}, { annotations: { 'Example.COM/Note': 'x' } })).errors).toEqual([]);
    expect(check(basePod({}, { annotations: { big: 'x'.repeat(256 * 1024) } })).errors).toEqual([
      'metadata.annotations: Too long: may not be more than 262144 bytes',
    ]);
  });
});

describe('containers', () => {
  it('spec.containers is required', () => {
    expect(check(basePod({ containers: [] })).errors).toEqual(['spec.containers: Required value']);
    const pod = basePod();
    delete (pod.spec as Record<string, unknown>).containers;
    expect(check(pod).errors).toEqual(['spec.containers: Required value']);
  });

  it('container names are DNS-1123 labels and required', () => {
    expect(check(basePod({ containers: [ctr('Bad_Name')] })).errors).toEqual([`spec.containers[0].name: Invalid value: "Bad_Name": ${LABEL_MSG}`]);
    expect(check(basePod({ containers: [{ image: 'busybox:1.36' }] })).errors).toEqual(['spec.containers[0].name: Required value']);
  });

  it('duplicate names across containers, initContainers and ephemeralContainers', () => {
    expect(check(basePod({ containers: [ctr('x'), ctr('x')] })).errors).toEqual(['spec.containers[1].name: Duplicate value: "x"']);
    expect(check(basePod({ containers: [ctr('x')], initContainers: [ctr('x')] })).errors).toEqual([
      'spec.initContainers[0].name: Duplicate value: "x"',
    ]);
    expect(check(basePod({ initContainers: [ctr('i'), ctr('i')] })).errors).toEqual(['spec.initContainers[1].name: Duplicate value: "i"']);
    expect(check(basePod({ initContainers: [ctr('i')], ephemeralContainers: [ctr('i')] }), { create: false }).errors).toEqual([
      'spec.ephemeralContainers[0].name: Duplicate value: "i"',
    ]);
  });

  it('image is required and may not have surrounding whitespace', () => {
    expect(check(basePod({ containers: [{ name: 'c' }] })).errors).toEqual(['spec.containers[0].image: Required value']);
    expect(check(basePod({ containers: [ctr('c', { image: ' busybox' })] })).errors).toEqual([
      'spec.containers[0].image: Invalid value: " busybox": must not have leading or trailing whitespace',
    ]);
  });

  it('imagePullPolicy and terminationMessagePolicy values', () => {
    expect(check(basePod({ containers: [ctr('c', { imagePullPolicy: 'Sometimes', terminationMessagePolicy: 'Stdout' })] })).errors).toEqual([
      'spec.containers[0].terminationMessagePolicy: Unsupported value: "Stdout": supported values: "File", "FallbackToLogsOnError"',
      'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    ]);
  });

  it('ports: range, required, names, protocol, host port conflicts', () => {
    const ports = [
      { containerPort: 70000 },
      { name: 'http', containerPort: 80 },
      { name: 'http', containerPort: 81 },
      { name: 'Web_1', containerPort: 82 },
      { containerPort: 0 },
      { containerPort: 83, protocol: 'ICMP', hostPort: 70000 },
    ];
    expect(check(basePod({ containers: [ctr('c', { ports })] })).errors).toEqual([
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[2].name: Duplicate value: "http"',
      'spec.containers[0].ports[3].name: Invalid value: "Web_1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[4].containerPort: Required value',
      'spec.containers[0].ports[5].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[5].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ]);
    expect(
      check(basePod({ containers: [ctr('a', { ports: [{ containerPort: 80, hostPort: 8080 }] }), ctr('b', { ports: [{ containerPort: 81, hostPort: 8080 }] })] }))
        .errors,
    ).toEqual(['spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"']);
  });

  it('env var names', () => {
    expect(check(basePod({ containers: [ctr('c', { env: [{ name: '' }, { name: 'A=B', value: 'x' }, { name: 'MY.VAR-1 ok', value: 'y' }] })] })).errors).toEqual([
      'spec.containers[0].env[0].name: Required value',
      "spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
    ]);
  });

  it('probes: one handler, non-negative numbers, successThreshold 1 for liveness and startup', () => {
    const r = check(
      basePod({
        containers: [
          ctr('c', {
            livenessProbe: { successThreshold: 2 },
            readinessProbe: { exec: { command: ['true'] }, httpGet: { port: 8080 }, periodSeconds: -1, successThreshold: 3 },
            startupProbe: { tcpSocket: { port: 'http' }, successThreshold: 2, failureThreshold: -2 },
          }),
        ],
      }),
    );
    expect(r.errors).toEqual([
      'spec.containers[0].livenessProbe: Required value: must specify a handler type',
      'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
      'spec.containers[0].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type',
      'spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0',
      'spec.containers[0].startupProbe.failureThreshold: Invalid value: -2: must be greater than or equal to 0',
      'spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1',
    ]);
  });

  it('probe handler details: exec command, port, scheme, probe grace period', () => {
    const r = check(
      basePod({
        containers: [
          ctr('c', {
            livenessProbe: { exec: { command: [] }, terminationGracePeriodSeconds: 0 },
            readinessProbe: { httpGet: { port: 0, scheme: 'FTP' }, terminationGracePeriodSeconds: 5 },
            startupProbe: { tcpSocket: { port: 'no--way' } },
          }),
        ],
      }),
    );
    expect(r.errors).toEqual([
      'spec.containers[0].livenessProbe.exec.command: Required value',
      'spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0',
      'spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
      'spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes',
      'spec.containers[0].startupProbe.tcpSocket.port: Invalid value: "no--way": must not contain consecutive hyphens',
    ]);
  });

  it('lifecycle handlers and sleep', () => {
    const r = check(
      basePod({
        terminationGracePeriodSeconds: 10,
        containers: [ctr('c', { lifecycle: { postStart: {}, preStop: { sleep: { seconds: 11 } } } })],
      }),
    );
    expect(r.errors).toEqual([
      'spec.containers[0].lifecycle.postStart: Required value: must specify a handler type',
      'spec.containers[0].lifecycle.preStop.sleep: Invalid value: 11: must be non-negative and less than terminationGracePeriodSeconds (10)',
    ]);
    expect(check(basePod({ containers: [ctr('c', { lifecycle: { preStop: { sleep: { seconds: 0 } } } })] })).errors).toEqual([]);
  });

  it('resources: names, negative quantities, request above limit', () => {
    const r = check(
      basePod({
        containers: [
          ctr('c', {
            resources: {
              limits: { cpu: '1', memory: '-1', foo: '1' },
              requests: { cpu: '2', 'example.com/dongle': '1.5', 'nvidia.com/gpu': 1 },
            },
          }),
        ],
      }),
    );
    expect(r.errors).toEqual([
      'spec.containers[0].resources.limits[memory]: Invalid value: "-1": must be greater than or equal to 0',
      'spec.containers[0].resources.limits[foo]: Invalid value: foo: must be a standard resource type or fully qualified',
      'spec.containers[0].resources.limits[foo]: Invalid value: foo: must be a standard resource for containers',
      'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
      'spec.containers[0].resources.requests[example.com/dongle]: Invalid value: 1.5: must be an integer',
      'spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources',
      'spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources',
      // Defaulting copied the limits without a request into requests, as the API server does.
      'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0',
      'spec.containers[0].resources.requests[foo]: Invalid value: foo: must be a standard resource type or fully qualified',
      'spec.containers[0].resources.requests[foo]: Invalid value: foo: must be a standard resource for containers',
    ]);
    const gpu = check(basePod({ containers: [ctr('c', { resources: { limits: { 'nvidia.com/gpu': 2, memory: '128Mi' } } })] }));
    expect(gpu.errors).toEqual([]);
    expect(gpu.loaded.pod.spec.containers[0]?.resources?.requests).toEqual({ 'nvidia.com/gpu': 2, memory: '128Mi' });
  });
});

describe('volumes and mounts', () => {
  it('volume names, duplicates, sources and hostPath', () => {
    const r = check(
      basePod({
        volumes: [
          { name: 'Data', emptyDir: {} },
          { name: 'a', emptyDir: {} },
          { name: 'a', emptyDir: {} },
          { name: 'b', emptyDir: {}, hostPath: { path: '/tmp' } },
          { name: 'c', hostPath: { path: '' } },
          { name: 'd', hostPath: { path: '/var/../etc', type: 'Pipe' } },
          { emptyDir: { sizeLimit: '-1Gi' } },
        ],
      }),
    );
    expect(r.errors).toEqual([
      `spec.volumes[0].name: Invalid value: "Data": ${LABEL_MSG}`,
      'spec.volumes[2].name: Duplicate value: "a"',
      'spec.volumes[3].hostPath: Forbidden: may not specify more than 1 volume type',
      'spec.volumes[4].hostPath.path: Required value',
      "spec.volumes[5].hostPath.path: Invalid value: \"/var/../etc\": must not contain '..'",
      'spec.volumes[5].hostPath.type: Unsupported value: "Pipe": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"',
      'spec.volumes[6].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity',
      'spec.volumes[6].name: Required value',
    ]);
  });

  it('a volume without a source is defaulted to emptyDir, as the API server does', () => {
    const r = check(basePod({ volumes: [{ name: 'scratch' }] }));
    expect(r.errors).toEqual([]);
    expect(r.loaded.pod.spec.volumes?.[0]).toEqual({ name: 'scratch', emptyDir: {} });
  });

  it('validatePod on an undefaulted volume without source: must specify a volume type', () => {
    const pod = check(basePod()).loaded.pod;
    const raw: Pod = { ...pod, spec: { ...pod.spec, volumes: [{ name: 'x' }] } };
    expect(validatePod(raw).errors.map(renderFieldError)).toEqual(['spec.volumes[0]: Required value: must specify a volume type']);
  });

  it('volumeMounts: unknown volume, mountPath, uniqueness, subPath', () => {
    const r = check(
      basePod({
        volumes: [{ name: 'ok', emptyDir: {} }, { name: 'Bad', emptyDir: {} }],
        containers: [
          ctr('c', {
            volumeMounts: [
              { name: 'data', mountPath: '/data' },
              { name: 'ok', mountPath: '' },
              { name: 'ok', mountPath: '/x', subPath: '/abs' },
              { name: 'ok', mountPath: '/x' },
              { name: 'Bad', mountPath: '/bad' },
            ],
          }),
        ],
      }),
    );
    expect(r.errors).toEqual([
      `spec.volumes[1].name: Invalid value: "Bad": ${LABEL_MSG}`,
      'spec.containers[0].volumeMounts[0].name: Not found: "data"',
      'spec.containers[0].volumeMounts[1].mountPath: Required value',
      // Upstream reports subPath on the list path, without the index.
      'spec.containers[0].volumeMounts.subPath: Invalid value: "/abs": must be a relative path',
      'spec.containers[0].volumeMounts[3].mountPath: Invalid value: "/x": must be unique',
      'spec.containers[0].volumeMounts[4].name: Not found: "Bad"',
    ]);
  });
});

describe('pod-level fields', () => {
  it('activeDeadlineSeconds must be between 1 and 2147483647', () => {
    for (const v of [0, -5, 2147483648]) {
      expect(check(basePod({ activeDeadlineSeconds: v })).errors).toEqual([
        `spec.activeDeadlineSeconds: Invalid value: ${v}: must be between 1 and 2147483647, inclusive`,
      ]);
    }
    expect(check(basePod({ activeDeadlineSeconds: 1 })).errors).toEqual([]);
  });

  it('a negative terminationGracePeriodSeconds is treated as 1 with the upstream warning', () => {
    const r = check(basePod({ terminationGracePeriodSeconds: -5 }));
    expect(r.errors).toEqual([]);
    expect(r.loaded.pod.spec.terminationGracePeriodSeconds).toBe(1);
    expect(r.warnings).toEqual(['spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1']);
  });

  it('hostname, nodeName and readinessGates', () => {
    expect(check(basePod({ hostname: 'My_Host', nodeName: 'Node_1', readinessGates: [{ conditionType: 'a/b/c' }] })).errors).toEqual([
      "spec.readinessGates[0].conditionType: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      `spec.nodeName: Invalid value: "Node_1": ${SUBDOMAIN_MSG}`,
      `spec.hostname: Invalid value: "My_Host": ${LABEL_MSG}`,
    ]);
  });

  it('ephemeral containers: allow-list, target container, subPath', () => {
    const r = check(
      basePod({
        volumes: [{ name: 'v', emptyDir: {} }],
        ephemeralContainers: [
          ctr('debug', {
            targetContainerName: 'nope',
            ports: [{ containerPort: 80 }],
            readinessProbe: { exec: { command: ['true'] } },
            lifecycle: { preStop: { exec: { command: ['true'] } } },
            volumeMounts: [{ name: 'v', mountPath: '/v', subPath: 'x' }],
          }),
        ],
      }),
      { create: false },
    );
    expect(r.errors).toEqual([
      'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"',
      'spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container',
    ]);
  });

  it('warnings: env hiding a previous definition, duplicate port definitions', () => {
    const r = check(
      basePod({
        containers: [
          ctr('a', { env: [{ name: 'X', value: '1' }, { name: 'X', value: '2' }, { name: 'X', value: '$(X):3' }], ports: [{ containerPort: 80 }] }),
          ctr('b', { ports: [{ containerPort: 80 }] }),
        ],
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      'spec.containers[0].env[1]: hides previous definition of "X", which may be dropped when using apply',
      'spec.containers[1].ports[0]: duplicate port definition with spec.containers[0].ports[0]',
    ]);
  });

  it('validation never mutates its input', () => {
    const pod = check(basePod()).loaded.pod;
    const copy = structuredClone(pod);
    validatePod(pod);
    expect(pod).toEqual(copy);
  });
});
