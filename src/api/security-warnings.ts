/**
 * Warnings for the security settings of a pod that its runtime does not apply, in the API
 * server's warning format (`<field path>: <what>`), so that `kubectl apply` and `podvisor run`
 * say it instead of ignoring it silently: the whole `securityContext` on the `host` and
 * `sandbox` runtimes (they run host commands as podvisor's user), and on `oci` the parts it does
 * not apply (SELinux, seccomp and AppArmor profiles, sysctls, `procMount`,
 * `fsGroupChangePolicy`).
 */
import type { Pod } from './types.js';

const POD_NOT_ON_OCI = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'sysctls', 'fsGroupChangePolicy'] as const;
const CONTAINER_NOT_ON_OCI = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'procMount'] as const;

/** A security context that asks for something (the API server's default `{}` asks for nothing). */
function asks(sc: object | undefined): boolean {
  return sc !== undefined && Object.values(sc).some((v) => v !== undefined && v !== null);
}

/** The warnings for `pod` on the runtime named `runtime` (`host`, `sandbox`, `oci`). */
export function securityContextWarnings(pod: Pod, runtime: string): string[] {
  const out: string[] = [];
  const lists = [['initContainers', pod.spec.initContainers ?? []], ['containers', pod.spec.containers]] as const;
  if (runtime !== 'oci') {
    const what = `not applied by the ${runtime} runtime (use --runtime oci), ignored`;
    if (asks(pod.spec.securityContext)) out.push(`spec.securityContext: ${what}`);
    for (const [list, cs] of lists) cs.forEach((c, i) => { if (asks(c.securityContext)) out.push(`spec.${list}[${i}].securityContext: ${what}`); });
    return out;
  }
  const what = 'not applied by podvisor, ignored';
  const psc = pod.spec.securityContext;
  for (const k of POD_NOT_ON_OCI) if (psc?.[k] !== undefined) out.push(`spec.securityContext.${k}: ${what}`);
  for (const [list, cs] of lists) {
    cs.forEach((c, i) => {
      for (const k of CONTAINER_NOT_ON_OCI) if (c.securityContext?.[k] !== undefined) out.push(`spec.${list}[${i}].securityContext.${k}: ${what}`);
    });
  }
  return out;
}
