// Spec §1.3 (E1–E15, rules 1–7), §10.1 and conformance rows P6, P7, B6: every restart-related
// validation error with its exact rendered text.
import { describe, expect, it } from 'vitest';
import { invalidStatus } from '../../src/api/index.js';
import { basePod, check, ctr, rules, type Obj } from './helpers.js';

const RESTART_ONE = { action: 'Restart', exitCodes: { operator: 'In', values: [42] } };

describe('§1.3 restart validation errors', () => {
  it('E1: pod restartPolicy not one of the three values', () => {
    expect(check(basePod({ restartPolicy: 'Sometimes' })).errors).toEqual([
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it('E2: container restartPolicy not one of the three values (note the different value order)', () => {
    expect(check(basePod({ containers: [ctr('c', { restartPolicy: 'Sometimes' })] })).errors).toEqual([
      'spec.containers[0].restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"',
    ]);
    expect(check(basePod({ containers: [ctr('c', { restartPolicy: '' })] })).errors).toEqual([
      'spec.containers[0].restartPolicy: Unsupported value: "": supported values: "Always", "Never", "OnFailure"',
    ]);
  });

  it('E2: init container restartPolicy not one of the three values', () => {
    expect(check(basePod({ initContainers: [ctr('i', { restartPolicy: 'Forever' })] })).errors).toEqual([
      'spec.initContainers[0].restartPolicy: Unsupported value: "Forever": supported values: "Always", "Never", "OnFailure"',
    ]);
  });

  it('E3: regular container with rules and no restartPolicy', () => {
    expect(check(basePod({ containers: [ctr('c', { restartPolicyRules: [RESTART_ONE] })] })).errors).toEqual([
      'spec.containers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used',
    ]);
  });

  it('E4 (D6): init container with rules and no restartPolicy', () => {
    expect(check(basePod({ initContainers: [ctr('i', { restartPolicyRules: [RESTART_ONE] })] })).errors).toEqual([
      'spec.initContainers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used',
    ]);
  });

  it('E5: more than 20 rules (20 are fine)', () => {
    expect(check(basePod({ containers: [ctr('c', { restartPolicy: 'Never', restartPolicyRules: rules(20) })] })).errors).toEqual([]);
    expect(check(basePod({ containers: [ctr('c', { restartPolicy: 'Never', restartPolicyRules: rules(21) })] })).errors).toEqual([
      'spec.containers[0].restartPolicyRules: Too many: 21: must have at most 20 items',
    ]);
    expect(
      check(basePod({ initContainers: [ctr('i', { restartPolicy: 'Never', restartPolicyRules: rules(25) })] })).errors,
    ).toEqual(['spec.initContainers[0].restartPolicyRules: Too many: 25: must have at most 20 items']);
  });

  it('E6: rule action not supported, also "" and missing', () => {
    const c = (action: unknown): Obj => {
      const rule: Obj = { exitCodes: { operator: 'In', values: [1] } };
      if (action !== undefined) rule.action = action;
      return basePod({ containers: [ctr('c', { restartPolicy: 'Never', restartPolicyRules: [rule] })] });
    };
    expect(check(c('Kill')).errors).toEqual([
      'spec.containers[0].restartPolicyRules[0].action: Unsupported value: "Kill": supported values: "Restart", "RestartAllContainers"',
    ]);
    const empty = 'spec.containers[0].restartPolicyRules[0].action: Unsupported value: "": supported values: "Restart", "RestartAllContainers"';
    expect(check(c('')).errors).toEqual([empty]);
    expect(check(c(undefined)).errors).toEqual([empty]);
  });

  it('E7: rule without exitCodes', () => {
    expect(
      check(basePod({ initContainers: [ctr('i', { restartPolicy: 'Never', restartPolicyRules: [{ action: 'RestartAllContainers' }] })] }))
        .errors,
    ).toEqual(['spec.initContainers[0].restartPolicyRules[0].exitCodes: Required value: must be specified']);
  });

  it('E8: operator not supported, also ""', () => {
    const c = (operator: string): Obj =>
      basePod({ containers: [ctr('c', { restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator, values: [1] } }] })] });
    expect(check(c('Equals')).errors).toEqual([
      'spec.containers[0].restartPolicyRules[0].exitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"',
    ]);
    expect(check(c('')).errors).toEqual([
      'spec.containers[0].restartPolicyRules[0].exitCodes.operator: Unsupported value: "": supported values: "In", "NotIn"',
    ]);
  });

  it('E9: more than 255 values (255 are fine)', () => {
    const c = (n: number): Obj =>
      basePod({
        containers: [
          ctr('c', {
            restartPolicy: 'Never',
            restartPolicyRules: [rules(1)[0], { action: 'Restart', exitCodes: { operator: 'NotIn', values: Array.from({ length: n }, (_, i) => i) } }],
          }),
        ],
      });
    expect(check(c(255)).errors).toEqual([]);
    expect(check(c(256)).errors).toEqual([
      'spec.containers[0].restartPolicyRules[1].exitCodes.values: Too many: 256: must have at most 255 items',
    ]);
  });

  it('E10: init container (not sidecar) with lifecycle or probes', () => {
    const probe = { exec: { command: ['true'] } };
    const init = ctr('i', {
      lifecycle: { preStop: { exec: { command: ['true'] } } },
      livenessProbe: probe,
      readinessProbe: probe,
      startupProbe: probe,
    });
    const msg = 'Forbidden: may not be set for init containers without restartPolicy=Always';
    const expected = ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'].map((f) => `spec.initContainers[0].${f}: ${msg}`);
    expect(check(basePod({ initContainers: [init] })).errors).toEqual(expected);
    expect(check(basePod({ initContainers: [{ ...init, restartPolicy: 'Never' }] })).errors).toEqual(expected);
    expect(check(basePod({ initContainers: [{ ...init, restartPolicy: 'OnFailure' }] })).errors).toEqual(expected);
    // A sidecar may have them.
    expect(check(basePod({ initContainers: [{ ...init, restartPolicy: 'Always' }] })).errors).toEqual([]);
  });

  it('E11: ephemeral containers at creation', () => {
    expect(check(basePod({ ephemeralContainers: [ctr('debug')] })).errors).toEqual([
      'spec.ephemeralContainers: Forbidden: cannot be set on create',
    ]);
    expect(check(basePod({ ephemeralContainers: [ctr('debug', { targetContainerName: 'c' })] }), { create: false }).errors).toEqual([]);
  });

  it('E12: ephemeral container with restartPolicy or restartPolicyRules', () => {
    const pod = basePod({ ephemeralContainers: [ctr('debug', { restartPolicy: 'Never', restartPolicyRules: [RESTART_ONE] })] });
    const e12 = [
      'spec.ephemeralContainers[0].restartPolicy: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].restartPolicyRules: Forbidden: cannot be set for an Ephemeral Container',
    ];
    expect(check(pod, { create: false }).errors).toEqual(e12);
    // On create the API server reports both the container errors and E11.
    expect(check(pod).errors).toEqual([...e12, 'spec.ephemeralContainers: Forbidden: cannot be set on create']);
  });

  it('E13: restart-grace-period-seconds not a decimal integer >= 0', () => {
    for (const v of ['abc', '-1', '1.5', '', ' 5']) {
      expect(check(basePod({}, { annotations: { 'podvisor.io/restart-grace-period-seconds': v } })).errors).toEqual([
        `metadata.annotations[podvisor.io/restart-grace-period-seconds]: Invalid value: ${JSON.stringify(v)}: must be a non-negative integer`,
      ]);
    }
    expect(check(basePod({}, { annotations: { 'podvisor.io/restart-grace-period-seconds': '5' } })).errors).toEqual([]);
  });

  it('E14: every §10.1 annotation with an invalid value', () => {
    const cases: [string, string, string][] = [
      ['container-max-restarts', '-1', 'must be a non-negative integer'],
      ['pod-max-restarts', 'x', 'must be a non-negative integer'],
      ['max-recreates', '2.0', 'must be a non-negative integer'],
      ['restart-window', 'soon', 'must be a positive duration'],
      ['restart-window', '0s', 'must be a positive duration'],
      ['escalation', 'pod,container', 'must be an ordered subset of "container,pod,recreate,fail"'],
      ['escalation', 'container,container', 'must be an ordered subset of "container,pod,recreate,fail"'],
      ['escalation', '', 'must be an ordered subset of "container,pod,recreate,fail"'],
      ['free-exit-codes', '1,a', 'must be a comma-separated list of integers'],
      ['backoff-initial', '-1s', 'must be a non-negative duration'],
      ['backoff-max', 'later', 'must be a non-negative duration'],
      ['backoff-jitter', '1.5', 'must be a number between 0 and 1'],
      ['container-init', 'yes', 'must be "true" or "false"'],
    ];
    for (const [key, value, message] of cases) {
      expect(check(basePod({}, { annotations: { [`podvisor.io/${key}`]: value } })).errors, key).toEqual([
        `metadata.annotations[podvisor.io/${key}]: Invalid value: ${JSON.stringify(value)}: ${message}`,
      ]);
    }
  });

  it('E15: podvisor.io/recreations is set by podvisor only', () => {
    const pod = basePod({}, { annotations: { 'podvisor.io/recreations': '1' } });
    expect(check(pod).errors).toEqual(['metadata.annotations[podvisor.io/recreations]: Forbidden: set by podvisor only']);
    expect(check(pod, { allowManaged: true }).errors).toEqual([]);
  });

  it('valid values of every §10.1 annotation are accepted', () => {
    const annotations = {
      'podvisor.io/restart-grace-period-seconds': '0',
      'podvisor.io/container-max-restarts': '2',
      'podvisor.io/pod-max-restarts': '1',
      'podvisor.io/max-recreates': '0',
      'podvisor.io/restart-window': '90s',
      'podvisor.io/escalation': 'container,fail',
      'podvisor.io/free-exit-codes': '3, -1,2147483647',
      'podvisor.io/backoff-initial': '0',
      'podvisor.io/backoff-max': '100ms',
      'podvisor.io/backoff-jitter': '0.5',
      'podvisor.io/container-init': 'false',
    };
    expect(check(basePod({}, { annotations }))).toMatchObject({ errors: [], warnings: [] });
  });
});

describe('§1.3 reporting rules', () => {
  it('P6: init container with restartPolicyRules and no restartPolicy is rejected with E4', () => {
    const r = check(basePod({ initContainers: [ctr('x', { restartPolicyRules: [RESTART_ONE] })] }));
    expect(r.errors).toEqual(['spec.initContainers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used']);
  });

  it('P7: 21 rules, one without exitCodes, one with operator Equals → one response listing E5, E7 and E8', () => {
    const list = rules(21);
    list[3] = { action: 'Restart' };
    list[7] = { action: 'Restart', exitCodes: { operator: 'Equals', values: [1] } };
    const r = check(basePod({ containers: [ctr('c', { restartPolicy: 'Never', restartPolicyRules: list })] }));
    expect(r.errors).toEqual([
      'spec.containers[0].restartPolicyRules: Too many: 21: must have at most 20 items',
      'spec.containers[0].restartPolicyRules[3].exitCodes: Required value: must be specified',
      'spec.containers[0].restartPolicyRules[7].exitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"',
    ]);
    const status = invalidStatus('Pod', 'p', r.raw);
    expect(status.code).toBe(422);
    expect(status.message).toBe(
      'Pod "p" is invalid: [spec.containers[0].restartPolicyRules: Too many: 21: must have at most 20 items, ' +
        'spec.containers[0].restartPolicyRules[3].exitCodes: Required value: must be specified, ' +
        'spec.containers[0].restartPolicyRules[7].exitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"]',
    );
    expect(status.details?.causes?.map((c) => c.reason)).toEqual(['FieldValueTooMany', 'FieldValueRequired', 'FieldValueNotSupported']);
  });

  it('B6: three invalid budget annotations and an unknown key → three Invalid value errors and one warning', () => {
    const r = check(
      basePod(
        {},
        {
          annotations: {
            'podvisor.io/container-max-restarts': '-1',
            'podvisor.io/restart-window': 'soon',
            'podvisor.io/escalation': 'pod,container',
            'podvisor.io/colour': 'red',
          },
        },
      ),
    );
    expect(new Set(r.errors)).toEqual(
      new Set([
        'metadata.annotations[podvisor.io/container-max-restarts]: Invalid value: "-1": must be a non-negative integer',
        'metadata.annotations[podvisor.io/restart-window]: Invalid value: "soon": must be a positive duration',
        'metadata.annotations[podvisor.io/escalation]: Invalid value: "pod,container": must be an ordered subset of "container,pod,recreate,fail"',
      ]),
    );
    expect(r.warnings).toEqual(['metadata.annotations[podvisor.io/colour]: unknown podvisor.io annotation, ignored']);
    const status = invalidStatus('Pod', 'p', r.raw);
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', code: 422, reason: 'Invalid', details: { name: 'p', kind: 'Pod' } });
    expect(status.details?.causes).toHaveLength(3);
    for (const cause of status.details?.causes ?? []) {
      expect(cause.reason).toBe('FieldValueInvalid');
      expect(cause.field).toMatch(/^metadata\.annotations\[podvisor\.io\/[a-z-]+\]$/);
    }
    expect(status.details?.causes?.find((c) => c.field?.includes('restart-window'))?.message).toBe(
      'Invalid value: "soon": must be a positive duration',
    );
  });

  it('rule 1: every error of a pod is reported, across metadata, containers, init containers and the pod', () => {
    const r = check(
      basePod(
        {
          restartPolicy: 'Sometimes',
          containers: [ctr('c', { restartPolicy: 'Sometimes', restartPolicyRules: [{ action: 'Kill' }] })],
          initContainers: [ctr('i', { restartPolicyRules: [RESTART_ONE], livenessProbe: { exec: { command: ['true'] } } })],
        },
        { annotations: { 'podvisor.io/restart-grace-period-seconds': 'x', 'podvisor.io/recreations': '2' } },
      ),
    );
    expect(r.errors).toEqual([
      'metadata.annotations[podvisor.io/recreations]: Forbidden: set by podvisor only',
      'metadata.annotations[podvisor.io/restart-grace-period-seconds]: Invalid value: "x": must be a non-negative integer',
      'spec.containers[0].restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"',
      'spec.containers[0].restartPolicyRules[0].action: Unsupported value: "Kill": supported values: "Restart", "RestartAllContainers"',
      'spec.containers[0].restartPolicyRules[0].exitCodes: Required value: must be specified',
      'spec.initContainers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used',
      'spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it('rule 4: what is not validated is accepted', () => {
    const r = check(
      basePod({
        initContainers: [
          // Restart rule on a sidecar (no effect, accepted).
          ctr('sidecar', { restartPolicy: 'Always', restartPolicyRules: [RESTART_ONE] }),
        ],
        containers: [
          ctr('c', {
            restartPolicy: 'Never',
            restartPolicyRules: [
              // Any int32 exit code, duplicate values.
              { action: 'Restart', exitCodes: { operator: 'In', values: [-2147483648, 2147483647, 300, 1, 1] } },
              // Empty values: In [] never matches, NotIn [] always matches.
              { action: 'Restart', exitCodes: { operator: 'In', values: [] } },
              { action: 'RestartAllContainers', exitCodes: { operator: 'NotIn', values: [] } },
              { action: 'Restart', exitCodes: { operator: 'In' } },
              // Identical and redundant rules, rules that can never match.
              RESTART_ONE,
              RESTART_ONE,
            ],
          }),
        ],
      }),
    );
    expect(r.errors).toEqual([]);
  });

  it('rule 5: an absent or "" pod restartPolicy is defaulted to Always, never Required', () => {
    for (const spec of [{}, { restartPolicy: '' }, { restartPolicy: null }]) {
      const r = check(basePod(spec));
      expect(r.errors).toEqual([]);
      expect(r.loaded.pod.spec.restartPolicy).toBe('Always');
    }
  });

  it('rule 7: an unknown podvisor.io key is only a warning', () => {
    const r = check(basePod({}, { annotations: { 'podvisor.io/colour': 'red', 'example.com/colour': 'blue' } }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['metadata.annotations[podvisor.io/colour]: unknown podvisor.io annotation, ignored']);
  });

  it('container restart policies of every kind are accepted (spec §1.2)', () => {
    const r = check(
      basePod({
        restartPolicy: 'Never',
        initContainers: [
          ctr('once', { restartPolicy: 'Never', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }] }),
          ctr('retry', { restartPolicy: 'OnFailure' }),
          ctr('sidecar', { restartPolicy: 'Always', livenessProbe: { exec: { command: ['true'] } } }),
        ],
        containers: [
          ctr('a', { restartPolicy: 'Always' }),
          ctr('b', { restartPolicy: 'OnFailure' }),
          ctr('c', { restartPolicy: 'Never', restartPolicyRules: [RESTART_ONE] }),
        ],
      }),
    );
    expect(r.errors).toEqual([]);
  });
});
