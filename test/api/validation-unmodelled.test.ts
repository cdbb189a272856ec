// Fields podvisor does not model (nodeSelector, tolerations, securityContext, ...): they are
// dropped with a warning, but their values must still be valid for a 1.36 API server (D11).
import { describe, expect, it } from 'vitest';
import { checkDecodedPod, decodePod, renderFieldError } from '../../src/api/index.js';
import { basePod, check, ctr, type Obj } from './helpers.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SEARCH_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')";
const IP_MSG = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const ID_RANGE = 'must be between 0 and 2147483647, inclusive';
const WINDOWS_ONLY = 'cannot be set for a windows pod';

/** The errors of a pod with these `spec` fields (and `metadata` fields). */
const errorsOf = (spec: Obj, metadata: Obj = {}): string[] => check(basePod(spec, metadata)).errors;
/** A container `c` with these fields, as the pod's only container. */
const withCtr = (extra: Obj, spec: Obj = {}): Obj => ({ containers: [ctr('c', extra)], ...spec });

type Case = [name: string, spec: Obj, errors: string[]];

/** Runs a table of `[name, spec, expected errors]`. */
function table(cases: Case[]): void {
  it.each(cases)('%s', (_name, spec, errors) => {
    expect(errorsOf(spec)).toEqual(errors);
  });
}

describe('wrong JSON types are errors, as for modelled fields', () => {
  table([
    ['hostNetwork "yes"', { hostNetwork: 'yes' }, ['spec.hostNetwork: Invalid value: "yes": must be of type boolean']],
    ['nodeSelector 5', { nodeSelector: 5 }, ['spec.nodeSelector: Invalid value: 5: must be of type object']],
    ['nodeSelector value 1', { nodeSelector: { disk: 1 } }, ['spec.nodeSelector[disk]: Invalid value: 1: must be of type string']],
    ['tolerations object', { tolerations: { key: 'k' } }, ['spec.tolerations: Invalid value: {"key":"k"}: must be of type array']],
    [
      'tolerationSeconds "5"',
      { tolerations: [{ key: 'k', effect: 'NoExecute', tolerationSeconds: '5' }] },
      ['spec.tolerations[0].tolerationSeconds: Invalid value: "5": must be of type int64'],
    ],
    ['priority beyond int32', { priority: 2 ** 31 }, ['spec.priority: Invalid value: 2147483648: must be of type int32']],
    ['runAsUser "root"', { securityContext: { runAsUser: 'root' } }, ['spec.securityContext.runAsUser: Invalid value: "root": must be of type int64']],
    [
      'capabilities.add string',
      withCtr({ securityContext: { capabilities: { add: 'NET_ADMIN' } } }),
      ['spec.containers[0].securityContext.capabilities.add: Invalid value: "NET_ADMIN": must be of type array'],
    ],
    [
      'nodeSelectorTerms object',
      { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: {} } } } },
      ['spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Invalid value: {}: must be of type array'],
    ],
    ['os string', { os: 'linux' }, ['spec.os: Invalid value: "linux": must be of type object']],
    ['overhead quantity', { overhead: { cpu: '1kk' } }, ["spec.overhead[cpu]: Invalid value: \"1kk\": unable to parse quantity's suffix"]],
    ['stdinOnce "true"', withCtr({ stdinOnce: 'true' }), ['spec.containers[0].stdinOnce: Invalid value: "true": must be of type boolean']],
    ['schedulingGroup array', { schedulingGroup: [] }, ['spec.schedulingGroup: Invalid value: []: must be of type object']],
  ]);

  it('metadata fields are type-checked too', () => {
    expect(errorsOf({}, { finalizers: 'x' })).toEqual(['metadata.finalizers: Invalid value: "x": must be of type array']);
    expect(errorsOf({}, { ownerReferences: [{ controller: 'true' }] })).toEqual([
      'metadata.ownerReferences[0].controller: Invalid value: "true": must be of type boolean',
    ]);
  });

  it('a type error anywhere suppresses the value checks, as the API server refuses the body first', () => {
    expect(errorsOf({ hostNetwork: 'yes', dnsPolicy: 'Sometimes', tolerations: [{ operator: 'Maybe' }] })).toEqual([
      'spec.hostNetwork: Invalid value: "yes": must be of type boolean',
    ]);
  });

  it('unknown sub-fields are warnings and dropped; the field is stored without a warning', () => {
    const r = check(basePod({ tolerations: [{ key: 'k', operator: 'Exists', colour: 'red' }] }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['unknown field "spec.tolerations[0].colour"']);
    // Stored as given, plus the API server's default tolerations of not-ready and unreachable nodes.
    expect((r.loaded.pod.spec as unknown as Obj).tolerations).toEqual([
      { key: 'k', operator: 'Exists' },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });
});

describe('nodeSelector (label keys and values)', () => {
  table([
    ['bad key', { nodeSelector: { '-disk': 'ssd' } }, [`spec.nodeSelector: Invalid value: "-disk": ${NAME_PART_MSG}`]],
    ['bad value', { nodeSelector: { disk: 'fast ssd' } }, [`spec.nodeSelector: Invalid value: "fast ssd": ${LABEL_VALUE_MSG}`]],
    ['valid', { nodeSelector: { 'kubernetes.io/os': 'linux', disk: '' } }, []],
  ]);
});

describe('tolerations', () => {
  table([
    ['unsupported operator', { tolerations: [{ key: 'k', operator: 'Maybe' }] }, ['spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"']],
    [
      'empty key needs Exists',
      { tolerations: [{ operator: 'Equal', value: 'v' }] },
      ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"'],
    ],
    [
      'empty toleration',
      { tolerations: [{}] },
      ['spec.tolerations[0].operator: Invalid value: "": operator must be Exists when `key` is empty, which means "match all values and all keys"'],
    ],
    [
      'Exists with a value',
      { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] },
      ["spec.tolerations[0].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'"],
    ],
    [
      'tolerationSeconds without NoExecute',
      { tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }] },
      ["spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"],
    ],
    [
      'unsupported effect',
      { tolerations: [{ key: 'k', operator: 'Exists', effect: 'Never' }] },
      ['spec.tolerations[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'],
    ],
    ['bad key', { tolerations: [{ key: 'a b', operator: 'Exists' }] }, [`spec.tolerations[0].key: Invalid value: "a b": ${NAME_PART_MSG}`]],
    ['bad value (reported on the operator)', { tolerations: [{ key: 'k', value: 'a b' }] }, [`spec.tolerations[0].operator: Invalid value: "a b": ${LABEL_VALUE_MSG}`]],
    [
      'valid ones',
      {
        tolerations: [
          { operator: 'Exists' },
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
        ],
      },
      [],
    ],
  ]);
});

describe('dnsPolicy and dnsConfig', () => {
  table([
    [
      'unsupported policy',
      { dnsPolicy: 'Sometimes' },
      ['spec.dnsPolicy: Unsupported value: "Sometimes": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'],
    ],
    ['None needs dnsConfig', { dnsPolicy: 'None' }, ['spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None']],
    [
      'None needs a nameserver',
      { dnsPolicy: 'None', dnsConfig: { searches: ['example.com'] } },
      ['spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None'],
    ],
    [
      'at most 3 nameservers',
      { dnsConfig: { nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9', '10.0.0.1'] } },
      ['spec.dnsConfig.nameservers: Invalid value: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "10.0.0.1"}: must not have more than 3 nameservers'],
    ],
    ['nameserver IP', { dnsConfig: { nameservers: ['dns.local'] } }, [`spec.dnsConfig.nameservers[0]: Invalid value: "dns.local": ${IP_MSG}`]],
    ['search domain', { dnsConfig: { searches: ['Corp.Example'] } }, [`spec.dnsConfig.searches[0]: Invalid value: "Corp.Example": ${SEARCH_MSG}`]],
    ['option name', { dnsConfig: { options: [{ value: '2' }] } }, ['spec.dnsConfig.options[0]: Required value: must not be empty']],
    [
      'valid',
      {
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['10.96.0.10', 'fd00::a'], searches: ['svc.cluster.local.', '.', '_ldap._tcp.example.com'], options: [{ name: 'ndots', value: '2' }] },
      },
      [],
    ],
  ]);
});

describe('names: serviceAccountName, subdomain, priorityClassName, runtimeClassName', () => {
  table([
    ['serviceAccountName', { serviceAccountName: 'Build_Bot' }, [`spec.serviceAccountName: Invalid value: "Build_Bot": ${SUBDOMAIN_MSG}`]],
    ['deprecated serviceAccount (an alias)', { serviceAccount: 'Build_Bot' }, [`spec.serviceAccountName: Invalid value: "Build_Bot": ${SUBDOMAIN_MSG}`]],
    ['subdomain', { subdomain: 'a.b' }, ['spec.subdomain: Invalid value: "a.b": must not contain dots']],
    ['priorityClassName', { priorityClassName: 'High Priority' }, [`spec.priorityClassName: Invalid value: "High Priority": ${SUBDOMAIN_MSG}`]],
    ['runtimeClassName ""', { runtimeClassName: '' }, [`spec.runtimeClassName: Invalid value: "": ${SUBDOMAIN_MSG}`]],
    ['schedulerName is free-form', { schedulerName: 'My Scheduler', subdomain: 'web', serviceAccountName: 'builder', priorityClassName: 'system-node-critical' }, []],
  ]);
});

describe('hostAliases', () => {
  table([
    ['bad IP', { hostAliases: [{ ip: '10.0.0.300', hostnames: ['db'] }] }, [`spec.hostAliases[0].ip: Invalid value: "10.0.0.300": ${IP_MSG}`]],
    ['missing IP', { hostAliases: [{ hostnames: ['db'] }] }, [`spec.hostAliases[0].ip: Invalid value: "": ${IP_MSG}`]],
    ['zone in IPv6', { hostAliases: [{ ip: 'fe80::1%eth0' }] }, [`spec.hostAliases[0].ip: Invalid value: "fe80::1%eth0": ${IP_MSG}`]],
    ['bad hostname', { hostAliases: [{ ip: '::1', hostnames: ['Db_1'] }] }, [`spec.hostAliases[0].hostnames[0]: Invalid value: "Db_1": ${SUBDOMAIN_MSG}`]],
    [
      'valid',
      { hostAliases: [{ ip: '127.0.0.1', hostnames: ['db', 'db.local'] }, { ip: '2001:db8::ffff' }, { ip: '::ffff:10.0.0.1' }, { ip: '010.001.002.003' }] },
      [],
    ],
  ]);
});

describe('preemptionPolicy and os', () => {
  table([
    [
      'preemptionPolicy',
      { preemptionPolicy: 'Sometimes' },
      ['spec.preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"'],
    ],
    ['preemptionPolicy ""', { preemptionPolicy: '' }, ['spec.preemptionPolicy: Required value']],
    ['os.name unsupported (reported on spec.os)', { os: { name: 'plan9' } }, ['spec.os: Unsupported value: "plan9": supported values: "linux", "windows"']],
    ['os.name empty', { os: {} }, ['spec.os.name: Required value: cannot be empty']],
    [
      'windows options on a linux pod',
      { os: { name: 'linux' }, securityContext: { windowsOptions: { runAsUserName: 'app' } } },
      ['spec.securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod'],
    ],
    [
      'linux settings on a windows pod',
      {
        os: { name: 'windows' },
        hostPID: true,
        shareProcessNamespace: false,
        securityContext: { runAsUser: 1000 },
        containers: [ctr('c', { securityContext: { privileged: false, capabilities: {} } })],
      },
      [
        `spec.hostPID: Forbidden: ${WINDOWS_ONLY}`,
        `spec.shareProcessNamespace: Forbidden: ${WINDOWS_ONLY}`,
        `spec.securityContext.runAsUser: Forbidden: ${WINDOWS_ONLY}`,
        `spec.containers[0].securityContext.capabilities: Forbidden: ${WINDOWS_ONLY}`,
        `spec.containers[0].securityContext.privileged: Forbidden: ${WINDOWS_ONLY}`,
      ],
    ],
    ['valid', { preemptionPolicy: 'Never', os: { name: 'linux' } }, []],
  ]);
});

describe('securityContext', () => {
  table([
    ['runAsUser -1', { securityContext: { runAsUser: -1 } }, [`spec.securityContext.runAsUser: Invalid value: -1: ${ID_RANGE}`]],
    ['runAsGroup 2^31', { securityContext: { runAsGroup: 2 ** 31 } }, [`spec.securityContext.runAsGroup: Invalid value: 2147483648: ${ID_RANGE}`]],
    ['fsGroup -5', { securityContext: { fsGroup: -5 } }, [`spec.securityContext.fsGroup: Invalid value: -5: ${ID_RANGE}`]],
    ['supplementalGroups', { securityContext: { supplementalGroups: [1, -1] } }, [`spec.securityContext.supplementalGroups[1]: Invalid value: -1: ${ID_RANGE}`]],
    ['container runAsUser', withCtr({ securityContext: { runAsUser: -1 } }), [`spec.containers[0].securityContext.runAsUser: Invalid value: -1: ${ID_RANGE}`]],
    [
      'init container runAsGroup',
      { initContainers: [ctr('init', { securityContext: { runAsGroup: -2 } })] },
      [`spec.initContainers[0].securityContext.runAsGroup: Invalid value: -2: ${ID_RANGE}`],
    ],
    [
      'shareProcessNamespace with hostPID',
      { shareProcessNamespace: true, hostPID: true },
      ['spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled'],
    ],
    [
      'sysctls',
      { securityContext: { sysctls: [{ value: '1' }, { name: 'Kernel.Bad!' }, { name: 'kernel.shm_rmid_forced' }, { name: 'kernel.shm_rmid_forced' }] } },
      [
        'spec.securityContext.sysctls[0].name: Required value',
        'spec.securityContext.sysctls[1].name: Invalid value: "Kernel.Bad!": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$',
        'spec.securityContext.sysctls[3].name: Duplicate value: "kernel.shm_rmid_forced"',
      ],
    ],
    [
      'namespaced sysctls with host namespaces',
      { hostNetwork: true, hostIPC: true, securityContext: { sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }, { name: 'kernel.msgmax', value: '1' }] } },
      [
        "spec.securityContext.sysctls[0].name: Invalid value: \"net.ipv4.ip_forward\": may not be specified when 'hostNetwork' is true",
        "spec.securityContext.sysctls[1].name: Invalid value: \"kernel.msgmax\": may not be specified when 'hostIPC' is true",
      ],
    ],
    [
      'fsGroupChangePolicy',
      { securityContext: { fsGroupChangePolicy: 'Never' } },
      ['spec.securityContext.fsGroupChangePolicy: Unsupported value: "Never": supported values: "Always", "OnRootMismatch"'],
    ],
    [
      'supplementalGroupsPolicy',
      { securityContext: { supplementalGroupsPolicy: 'Union' } },
      ['spec.securityContext.supplementalGroupsPolicy: Unsupported value: "Union": supported values: "Merge", "Strict"'],
    ],
    [
      'seLinuxChangePolicy',
      { securityContext: { seLinuxChangePolicy: 'Sometimes' } },
      ['spec.securityContext.seLinuxChangePolicy: Unsupported value: "Sometimes": supported values: "MountOption", "Recursive"'],
    ],
    ['seccompProfile without type', { securityContext: { seccompProfile: {} } }, ['spec.securityContext.seccompProfile.type: Required value: type is required when seccompProfile is set']],
    [
      'seccompProfile type',
      { securityContext: { seccompProfile: { type: 'Custom' } } },
      ['spec.securityContext.seccompProfile.type: Unsupported value: "Custom": supported values: "Localhost", "RuntimeDefault", "Unconfined"'],
    ],
    [
      'seccompProfile Localhost without profile',
      { securityContext: { seccompProfile: { type: 'Localhost' } } },
      ['spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost'],
    ],
    [
      'seccompProfile Localhost absolute path',
      withCtr({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '/etc/seccomp.json' } } }),
      ['spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/seccomp.json": must be a relative path'],
    ],
    [
      'appArmorProfile',
      { securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: ' k8s-nginx' } } },
      ['spec.securityContext.appArmorProfile.localhostProfile: Invalid value: " k8s-nginx": must not be padded with whitespace'],
    ],
    [
      'appArmorProfile profile only for Localhost',
      withCtr({ securityContext: { appArmorProfile: { type: 'RuntimeDefault', localhostProfile: 'x' } } }),
      ['spec.containers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: "x": can only be set when AppArmor type is Localhost'],
    ],
    [
      'procMount Unmasked needs hostUsers: false',
      withCtr({ securityContext: { procMount: 'Unmasked' } }),
      ['spec.containers[0].securityContext.procMount: Invalid value: "Unmasked": `hostUsers` must be false to use `Unmasked`'],
    ],
    [
      'procMount unsupported',
      withCtr({ securityContext: { procMount: 'Weird' } }),
      ['spec.containers[0].securityContext.procMount: Unsupported value: "Weird": supported values: "Default", "Unmasked"'],
    ],
    [
      'hostUsers: false excludes host namespaces (upstream paths)',
      { hostUsers: false, hostNetwork: true, hostPID: true, hostIPC: true },
      [
        'spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false',
        'spec.HostPID: Forbidden: when `pod.Spec.HostUsers` is false',
        'spec.HostIPC: Forbidden: when `pod.Spec.HostUsers` is false',
      ],
    ],
    [
      'windows runAsUserName',
      { securityContext: { windowsOptions: { runAsUserName: 'a\\b\\c' } } },
      ['spec.securityContext.windowsOptions.runAsUserName: Invalid value: "a\\\\b\\\\c": runAsUserName cannot contain more than one backslash'],
    ],
    [
      'hostProcess needs hostNetwork',
      { securityContext: { windowsOptions: { hostProcess: true } } },
      ['spec.hostNetwork: Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers'],
    ],
    [
      'valid',
      {
        hostUsers: false,
        securityContext: { runAsUser: 0, runAsGroup: 2147483647, fsGroup: 2000, supplementalGroups: [4000], runAsNonRoot: false, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' }, sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }] },
        containers: [ctr('c', { securityContext: { procMount: 'Unmasked', allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } })],
      },
      [],
    ],
  ]);

  it('allowPrivilegeEscalation: false contradicts privileged and CAP_SYS_ADMIN (the value is shown as JSON)', () => {
    const sc = { privileged: true, allowPrivilegeEscalation: false, capabilities: { add: ['CAP_SYS_ADMIN'] } };
    expect(errorsOf(withCtr({ securityContext: sc }))).toEqual([
      `spec.containers[0].securityContext: Invalid value: ${JSON.stringify(sc)}: cannot set \`allowPrivilegeEscalation\` to false and \`privileged\` to true`,
      `spec.containers[0].securityContext: Invalid value: ${JSON.stringify(sc)}: cannot set \`allowPrivilegeEscalation\` to false and \`capabilities.Add\` CAP_SYS_ADMIN`,
    ]);
  });
});

describe('resizePolicy', () => {
  table([
    [
      'restartPolicy unsupported (reported on the list)',
      withCtr({ resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'Sometimes' }] }),
      ['spec.containers[0].resizePolicy: Unsupported value: "Sometimes": supported values: "NotRequired", "RestartContainer"'],
    ],
    [
      'resourceName unsupported (unquoted, a Stringer)',
      withCtr({ resizePolicy: [{ resourceName: 'gpu', restartPolicy: 'NotRequired' }] }),
      ['spec.containers[0].resizePolicy: Unsupported value: gpu: supported values: "cpu", "memory"'],
    ],
    [
      'duplicate resource',
      withCtr({ resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }, { resourceName: 'cpu', restartPolicy: 'NotRequired' }] }),
      ['spec.containers[0].resizePolicy[1]: Duplicate value: cpu'],
    ],
    ['required members', withCtr({ resizePolicy: [{}] }), ['spec.containers[0].resizePolicy: Required value', 'spec.containers[0].resizePolicy: Required value']],
    [
      'RestartContainer with restartPolicy Never',
      withCtr({ resizePolicy: [{ resourceName: 'memory', restartPolicy: 'RestartContainer' }] }, { restartPolicy: 'Never' }),
      ["spec.containers[0].resizePolicy: Invalid value: \"RestartContainer\": must be 'NotRequired' when `restartPolicy` is 'Never'"],
    ],
    ['valid', withCtr({ resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }, { resourceName: 'memory', restartPolicy: 'RestartContainer' }] }), []],
  ]);

  it('is forbidden for ephemeral containers', () => {
    // (create: false: ephemeral containers are added to existing pods only)
    const r = checkDecodedPod(decodePod(basePod({ ephemeralContainers: [ctr('debug', { resizePolicy: [] })] })), { create: false });
    expect(r.errors.map(renderFieldError)).toEqual(['spec.ephemeralContainers[0].resizePolicy: Forbidden: cannot be set for an Ephemeral Container']);
  });
});

describe('affinity', () => {
  const nodeRequired = (terms: unknown): Obj => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  const NT = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';
  table([
    ['no node selector term', nodeRequired([]), [`${NT}: Required value: must have at least one node selector term`]],
    [
      'In without values',
      nodeRequired([{ matchExpressions: [{ key: 'zone', operator: 'In' }] }]),
      [`${NT}[0].matchExpressions[0].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`],
    ],
    [
      'Exists with values, bad key',
      nodeRequired([{ matchExpressions: [{ key: 'a b', operator: 'Exists', values: ['x'] }] }]),
      [
        `${NT}[0].matchExpressions[0].values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`,
        `${NT}[0].matchExpressions[0].key: Invalid value: "a b": ${NAME_PART_MSG}`,
      ],
    ],
    [
      'Gt needs one value; bad operator',
      nodeRequired([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['1', '2'] }, { key: 'zone', operator: 'Near', values: ['a'] }] }]),
      [
        `${NT}[0].matchExpressions[0].values: Required value: must be specified single value when \`operator\` is 'Lt' or 'Gt'`,
        `${NT}[0].matchExpressions[1].operator: Invalid value: "Near": not a valid selector operator`,
      ],
    ],
    ['bad required value', nodeRequired([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a b'] }] }]), [`${NT}[0].matchExpressions[0].values[0]: Invalid value: "a b": ${LABEL_VALUE_MSG}`]],
    [
      'matchFields',
      nodeRequired([{ matchFields: [{ key: 'metadata.labels', operator: 'In', values: ['a'] }, { key: 'metadata.name', operator: 'In', values: ['a', 'b'] }] }]),
      [
        `${NT}[0].matchFields[0].key: Invalid value: "metadata.labels": not a valid field selector key`,
        `${NT}[0].matchFields[1].values: Required value: must be only one value when \`operator\` is 'In' or 'NotIn' for node field selector`,
      ],
    ],
    [
      'preferred weight, invalid value allowed',
      { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a b'] }] } }] } } },
      ['spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100'],
    ],
    [
      'pod anti-affinity without topologyKey',
      { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } } }] } } },
      [
        'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty',
        'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": name part must be non-empty',
        `spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": ${NAME_PART_MSG}`,
      ],
    ],
    [
      'pod affinity term: weight, selector, namespaces, label keys',
      {
        affinity: {
          podAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 101,
                podAffinityTerm: {
                  topologyKey: 'kubernetes.io/hostname',
                  labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] },
                  namespaces: ['Team_A'],
                  matchLabelKeys: ['pod-template-hash'],
                  mismatchLabelKeys: ['pod-template-hash'],
                },
              },
            ],
          },
        },
      },
      [
        'spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 101: must be in the range 1-100',
        "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        `spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.namespace: Invalid value: "Team_A": ${DNS_LABEL_MSG}`,
        'spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.matchLabelKeys[0]: Invalid value: "pod-template-hash": exists in both matchLabelKeys and mismatchLabelKeys',
      ],
    ],
    [
      'matchLabelKeys need a labelSelector',
      { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', matchLabelKeys: ['app'] }] } } },
      ['spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set'],
    ],
  ]);
});

describe('topologySpreadConstraints and schedulingGates', () => {
  const TSC = 'spec.topologySpreadConstraints[0]';
  table([
    [
      'required members',
      { topologySpreadConstraints: [{ maxSkew: 0, whenUnsatisfiable: 'Maybe' }] },
      [
        `${TSC}.maxSkew: Invalid value: 0: must be greater than zero`,
        `${TSC}.topologyKey: Required value: can not be empty`,
        `${TSC}.whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"`,
      ],
    ],
    [
      'duplicate {topologyKey, whenUnsatisfiable}',
      { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }, { maxSkew: 2, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }] },
      [`${TSC}.{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, DoNotSchedule}"`],
    ],
    [
      'minDomains, policies, matchLabelKeys, selector',
      {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', minDomains: 2, nodeTaintsPolicy: 'Always', matchLabelKeys: ['app'], labelSelector: { matchLabels: { app: 'a b' } } },
        ],
      },
      [
        `${TSC}.minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway`,
        `${TSC}.nodeTaintsPolicy: Unsupported value: "Always": supported values: "Honor", "Ignore"`,
        `${TSC}.labelSelector.matchLabels: Invalid value: "a b": ${LABEL_VALUE_MSG}`,
      ],
    ],
    [
      'scheduling gates',
      { schedulingGates: [{ name: 'example.com/gate' }, { name: 'example.com/gate' }, { name: 'a b' }] },
      ['spec.schedulingGates[1]: Duplicate value: "example.com/gate"', `spec.schedulingGates[2]: Invalid value: "a b": ${NAME_PART_MSG}`],
    ],
    [
      'nodeName with scheduling gates',
      { nodeName: 'node-1', schedulingGates: [{ name: 'example.com/gate' }] },
      ['spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared'],
    ],
  ]);
});

describe('hostNetwork, overhead, pod-level resources', () => {
  table([
    [
      'hostPort must equal containerPort with hostNetwork',
      { hostNetwork: true, containers: [ctr('c', { ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 443 }] })] },
      ['spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true'],
    ],
    ['overhead is checked as limits', { overhead: { cpu: '-1' } }, ['spec.overhead.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0']],
    ['pod-level claims', { resources: { claims: [{ name: 'gpu' }] } }, ['spec.resources.claims: Forbidden: claims cannot be set for Resources at pod-level']],
    ['valid', { hostNetwork: true, overhead: { cpu: '250m', memory: '120Mi' }, resources: { limits: { cpu: '2' }, requests: { cpu: '1' } } }, []],
  ]);
});

describe('metadata: ownerReferences and finalizers', () => {
  it('finalizers are qualified names, or standard ones', () => {
    expect(errorsOf({}, { finalizers: ['my-finalizer', 'example.com/a b', 'kubernetes', 'example.com/cleanup'] })).toEqual([
      `metadata.finalizers: Invalid value: "example.com/a b": ${NAME_PART_MSG}`,
      'metadata.finalizers: Invalid value: "my-finalizer": name is neither a standard finalizer name nor is it fully qualified',
    ]);
    expect(errorsOf({}, { finalizers: ['orphan', 'foregroundDeletion'] })).toEqual([
      'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
    ]);
  });

  it('owner references need apiVersion, kind, name and uid (paths without index, as upstream)', () => {
    expect(errorsOf({}, { ownerReferences: [{ apiVersion: 'apps/', kind: 'ReplicaSet' }] })).toEqual([
      'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
      'metadata.ownerReferences.name: Invalid value: "": name must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
    ]);
    const ref = (name: string): Obj => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: `uid-${name}`, controller: true });
    const two = [ref('a'), ref('b')];
    expect(errorsOf({}, { ownerReferences: two })).toEqual([
      `metadata.ownerReferences: Invalid value: ${JSON.stringify(two)}: Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b`,
    ]);
    const event = { apiVersion: 'v1', kind: 'Event', name: 'e', uid: 'u' };
    expect(errorsOf({}, { ownerReferences: [event] })).toEqual([
      `metadata.ownerReferences: Invalid value: ${JSON.stringify(event)}: /v1, Kind=Event is disallowed from being an owner`,
    ]);
  });
});

describe('all errors of a pod come in one response, in a fixed order', () => {
  it('the errors of modelled and of unmodelled fields come together', () => {
    expect(errorsOf({ containers: [ctr('Bad_Name')], tolerations: [{ key: 'k', operator: 'Maybe' }] })).toEqual([
      expect.stringMatching(/^spec\.containers\[0\]\.name: Invalid value: "Bad_Name": /),
      'spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"',
    ]);
  });

  it('unsupported fields first, then the unmodelled fields in the API server order', () => {
    const pod = basePod({
      volumes: [{ name: 'data', nfs: { server: 'nfs.example.com', path: '/exports' } }],
      tolerations: [{ key: 'k', operator: 'Maybe' }],
      dnsPolicy: 'Sometimes',
      containers: [ctr('c', { securityContext: { runAsUser: -1 } })],
    });
    const expected = [
      'spec.volumes[0].nfs: Forbidden: not supported by podvisor',
      `spec.containers[0].securityContext.runAsUser: Invalid value: -1: ${ID_RANGE}`,
      'spec.dnsPolicy: Unsupported value: "Sometimes": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
      'spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"',
    ];
    expect(check(pod).errors).toEqual(expected);
    expect(check(pod).errors).toEqual(expected);
  });
});

describe('a valid manifest using many unmodelled fields', () => {
  const manifest = basePod(
    {
      nodeSelector: { 'kubernetes.io/os': 'linux', 'node.example.com/pool': 'batch' },
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
      ],
      securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-west-1a', 'eu-west-1b'] }] }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } }],
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'trainer' } } } },
          ],
        },
      },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', minDomains: 2, labelSelector: { matchLabels: { app: 'trainer' } } }],
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['registry.local'] }],
      dnsPolicy: 'ClusterFirst',
      dnsConfig: { options: [{ name: 'ndots', value: '2' }] },
      serviceAccountName: 'trainer',
      automountServiceAccountToken: false,
      priorityClassName: 'batch-low',
      imagePullSecrets: [{ name: 'registry-cred' }],
      enableServiceLinks: false,
      os: { name: 'linux' },
      containers: [
        ctr('c', {
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }],
        }),
      ],
    },
    { finalizers: ['example.com/cleanup'], ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'train', uid: '6b1f', controller: true }] },
  );

  it('gives no error; only the fields a user may count on (hostAliases, dnsConfig) are named as not applied', () => {
    const r = check(manifest);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      'spec.hostAliases: stored, not applied by podvisor',
      'spec.dnsConfig: stored, not applied by podvisor',
    ]);
  });

  it('stores the fields with the pod, as given, and returns them type-checked', () => {
    const r = decodePod(manifest);
    expect(r.errors).toEqual([]);
    // Every field is kept as the API server stores it (securityContext is also modelled).
    expect(r.pod).toEqual(JSON.parse(JSON.stringify({ ...manifest, status: undefined })));
    expect(r.unmodelled.spec.tolerations).toEqual((manifest.spec as Obj).tolerations);
    expect(r.unmodelled.containers[0]?.resizePolicy).toEqual([{ resourceName: 'cpu', restartPolicy: 'NotRequired' }]);
    expect(r.unmodelled.metadata.finalizers).toEqual(['example.com/cleanup']);
    expect(r.unmodelled.initContainers).toEqual([]);
  });
});
