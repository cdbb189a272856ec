// What a runtime does not apply of a pod's security settings is a warning, never silence.
import { describe, expect, it } from 'vitest';
import { securityContextWarnings } from '../../src/api/security-warnings.js';
import type { Pod } from '../../src/api/types.js';

const pod: Pod = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
  spec: {
    securityContext: { runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' }, sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
    initContainers: [{ name: 'i', image: 'x', securityContext: { procMount: 'Default' } }],
    containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x', securityContext: { capabilities: { drop: ['ALL'] }, appArmorProfile: { type: 'RuntimeDefault' } } }],
  },
};

describe('securityContextWarnings', () => {
  it('host and sandbox: every securityContext is not applied', () => {
    expect(securityContextWarnings(pod, 'host')).toEqual([
      'spec.securityContext: not applied by the host runtime (use --runtime oci), ignored',
      'spec.initContainers[0].securityContext: not applied by the host runtime (use --runtime oci), ignored',
      'spec.containers[1].securityContext: not applied by the host runtime (use --runtime oci), ignored',
    ]);
    expect(securityContextWarnings({ ...pod, spec: { containers: [{ name: 'a', image: 'x' }] } }, 'sandbox')).toEqual([]);
    // The API server's default `securityContext: {}` asks for nothing: no warning.
    expect(securityContextWarnings({ ...pod, spec: { securityContext: {}, containers: [{ name: 'a', image: 'x', securityContext: {} }] } }, 'host')).toEqual([]);
  });

  it('oci: only the parts it does not apply', () => {
    expect(securityContextWarnings(pod, 'oci')).toEqual([
      'spec.securityContext.seccompProfile: not applied by podvisor, ignored',
      'spec.securityContext.sysctls: not applied by podvisor, ignored',
      'spec.initContainers[0].securityContext.procMount: not applied by podvisor, ignored',
      'spec.containers[1].securityContext.appArmorProfile: not applied by podvisor, ignored',
    ]);
  });
});
