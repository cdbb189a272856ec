// The pods of the chaos soak (scripts/soak.mjs): five kinds of behaviour, and for each kind what
// the soak may expect of it whatever the chaos does:
//
//   sleeper  restartPolicy Always, one or two sleeping containers: stable (their PIDs must
//            survive every daemon restart the chaos did not touch them in)
//   crash    Always: a crash loop (exits 1, 2, 0 or kills itself) with short per-pod back-offs
//            (podvisor.io/backoff-* annotations) beside a stable sleeper
//   rules    Never, with container restartPolicy and restartPolicyRules: `worker` restarts on
//            exit 3 and 137 (so a SIGKILL restarts it too), `finisher` restarts on 4 twice and
//            then ends with 5, which no rule matches: it stays terminated; `steady` is a
//            container-level Always sleeper (stable)
//   rac      Always, an init container that appends the pod's in-place restart count to an
//            emptyDir file, a sidecar, a sleeper and a `trainer` whose exit 42 matches a
//            `RestartAllContainers` rule (every few seconds an in-place pod restart); the
//            trainer exits 99 when the emptyDir lost an entry (it must survive in-place restarts)
//   never    Never, one container that exits 0 (Succeeded) or 1 (Failed) after a few seconds;
//            a completed pod must stay terminal
//
// Every container carries SOAK_RUN, SOAK_POD, SOAK_C and SOAK_UID (the pod's UID, from the
// downward API) in its environment, so the soak finds every process of a pod in /proc, and its
// command line ends with `soak-<run>-<pod>-<container>` for people reading `ps`.

const SLEEP = `trap 'exit 0' TERM; sleep 86400 & wait`;
const SLEEP_LOOP = `trap 'exit 0' TERM; while :; do sleep 600 & wait $!; done`;

/** What the soak expects of each kind (see above). */
export const KINDS = {
  sleeper: { share: 0.28, neverEnds: true, stable: ['a', 'b'], restarting: ['a', 'b'], restartApi: true, recreateApi: true },
  crash: { share: 0.16, neverEnds: true, stable: ['steady'], restarting: ['crash', 'steady'], restartApi: true, recreateApi: true },
  rules: { share: 0.14, neverEnds: true, stable: ['steady'], restarting: ['worker', 'steady'], terminalOnce: ['finisher'] },
  rac: { share: 0.16, neverEnds: true, stable: [], restarting: ['side', 'trainer', 'steady'], restartApi: true, recreateApi: true, emptyDirCheck: true },
  never: { share: 0.26, neverPod: true, stable: [], restarting: [] },
};

/** `n` pod names, `<kind>-<i>`, the kinds in their shares (at least one of each). */
export function podNames(n) {
  const kinds = Object.keys(KINDS);
  const counts = Object.fromEntries(kinds.map((k) => [k, Math.max(1, Math.round(n * KINDS[k].share))]));
  let total = kinds.reduce((s, k) => s + counts[k], 0);
  while (total > n && counts.sleeper > 1) { counts.sleeper--; total--; }
  while (total < n) { counts.sleeper++; total++; }
  return kinds.flatMap((k) => Array.from({ length: counts[k] }, (_, i) => ({ name: `${k}-${i}`, kind: k, variant: i })));
}

/** The containers of a pod the soak may SIGKILL (running ones only; never an init container). */
export const KILLABLE = { sleeper: ['a', 'b'], crash: ['crash', 'steady'], rules: ['worker', 'finisher', 'steady'], rac: ['side', 'trainer', 'steady'], never: ['job'] };

/** The expected end of a `never` pod: its exit code and phase. */
export function neverOutcome(variant) {
  const code = variant % 3 === 2 ? 1 : 0;
  return { code, phase: code === 0 ? 'Succeeded' : 'Failed' };
}

/**
 * The Pod object of `name` (kind, variant) for the run `run`, generation `gen` (each re-creation
 * by delete and create is a new generation). `mnt` is the directory the emptyDir is mounted at
 * (inside the soak's temp dir, so nothing is created outside it); `volumes` false when volume
 * mounts are not possible (not root).
 */
export function podManifest({ run, name, kind, variant, gen, mnt, volumes }) {
  const env = (c) => [
    { name: 'SOAK_RUN', value: run }, { name: 'SOAK_POD', value: name }, { name: 'SOAK_C', value: c },
    { name: 'SOAK_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
  ];
  const ctr = (c, script, extra = {}) => ({ name: c, image: 'busybox:1.36', command: ['sh', '-c', script, `soak-${run}-${name}-${c}`], env: env(c), ...extra });
  const meta = { name, labels: { 'soak-run': run, 'soak-kind': kind, 'soak-gen': String(gen) }, annotations: {} };
  const spec = { terminationGracePeriodSeconds: 2 };
  const secs = (x) => String(x);
  switch (kind) {
    case 'sleeper':
      spec.restartPolicy = 'Always';
      spec.containers = [ctr('a', variant % 2 === 0 ? SLEEP : SLEEP_LOOP)];
      if (variant % 3 !== 1) spec.containers.push(ctr('b', SLEEP_LOOP));
      break;
    case 'crash': {
      spec.restartPolicy = 'Always';
      const crash = [`sleep 0.3; exit 1`, `exit 2`, `sleep 1; kill -9 $$`, `sleep 0.5; exit 0`][variant % 4];
      spec.containers = [ctr('crash', crash), ctr('steady', SLEEP)];
      meta.annotations['podvisor.io/backoff-initial'] = variant % 2 === 0 ? '1s' : '500ms';
      meta.annotations['podvisor.io/backoff-max'] = variant % 2 === 0 ? '8s' : '4s';
      break;
    }
    case 'rules':
      spec.restartPolicy = 'Never';
      spec.containers = [
        ctr('worker', `sleep ${secs(1 + (variant % 3))}; exit 3`, { restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [3, 137] } }] }),
        ctr('steady', SLEEP, { restartPolicy: 'Always' }),
      ];
      if (variant % 2 === 0) {
        spec.containers.push(ctr('finisher', 'sleep 1; if [ "$PODVISOR_RESTART_COUNT" -lt 2 ]; then exit 4; fi; exit 5',
          { restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [4] } }] }));
      }
      meta.annotations['podvisor.io/backoff-initial'] = '1s';
      meta.annotations['podvisor.io/backoff-max'] = '6s';
      break;
    case 'rac': {
      spec.restartPolicy = 'Always';
      const w = `${mnt}/w`;
      const mounts = volumes ? { volumeMounts: [{ name: 'work', mountPath: w }] } : {};
      if (volumes) spec.volumes = [{ name: 'work', emptyDir: {} }];
      // Idempotent: an init container that runs twice in one pass appends the same number.
      const init = volumes ? `echo "$PODVISOR_POD_RESTART_COUNT" >> ${w}/runs; n=$(cat ${w}/count 2>/dev/null || echo 0); echo $((n + 1)) > ${w}/count` : 'true';
      // The first pass's 0 and this pass's count must be in the file: else the emptyDir was lost.
      const check = volumes ? `if ! grep -qx 0 ${w}/runs || ! grep -qx "$PODVISOR_POD_RESTART_COUNT" ${w}/runs; then echo "emptyDir lost: $(tr '\\n' ' ' < ${w}/runs)"; exit 99; fi; ` : '';
      const trainer = `${check}sleep ${secs(4 + (variant % 5))}; if [ $((PODVISOR_RESTART_COUNT % 4)) = 3 ]; then exit 3; fi; exit 42`;
      spec.initContainers = [ctr('init', init, mounts), ctr('side', SLEEP_LOOP, { restartPolicy: 'Always' })];
      spec.containers = [
        ctr('trainer', trainer, { ...mounts, restartPolicy: 'Always', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }] }),
        ctr('steady', SLEEP),
      ];
      meta.annotations['podvisor.io/backoff-initial'] = '1s';
      meta.annotations['podvisor.io/backoff-max'] = '8s';
      break;
    }
    case 'never': {
      spec.restartPolicy = 'Never';
      spec.containers = [ctr('job', `sleep ${secs(4 + ((variant * 7) % 20))}; exit ${neverOutcome(variant).code}`)];
      break;
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec };
}
