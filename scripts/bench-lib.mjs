// Helpers shared by `npm run bench`'s parts (bench.mjs, bench-oci.mjs).
import { performance } from 'node:perf_hooks';

/** Wraps a runtime to timestamp the starts and exits of its instances with a monotonic clock. */
export function instrument(rt) {
  const marks = [];
  return {
    marks,
    runtime: new Proxy(rt, {
      get(target, prop) {
        if (prop === 'startContainer') {
          return async (spec) => {
            const h = await target.startContainer(spec);
            marks.push({ kind: 'start', name: spec.name, t: performance.now() });
            h.exited.then(() => marks.push({ kind: 'exit', name: spec.name, t: performance.now() }));
            return h;
          };
        }
        const v = target[prop];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }),
  };
}

/** Exit-to-next-start gaps of the marks of {@link instrument}. */
export function restartGaps(marks) {
  const lat = [];
  let lastExit;
  for (const m of marks) {
    if (m.kind === 'exit') lastExit = m.t;
    else if (lastExit !== undefined) {
      lat.push(m.t - lastExit);
      lastExit = undefined;
    }
  }
  return lat;
}

/** Resolves once `pred()` holds (checked every 2 ms); rejects after `ms`. */
export function waitFor(pred, ms = 120_000) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (pred()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() > end) {
        clearInterval(t);
        reject(new Error('timed out'));
      }
    }, 2);
  });
}

/** Every regular container and the sidecar of a worker's pod run (init containers completed). */
export const allRunning = (w) => w && w.status?.phase === 'Running' && (w.status.containerStatuses ?? []).every((c) => c.state.running)
  && (w.status.initContainerStatuses ?? []).every((c) => c.state.running || c.state.terminated?.exitCode === 0);

/**
 * `n` rounds of an in-place restart (API) and then a re-create (API) of the supervisor's pod
 * `default/<name>`: from each request until every container runs again.
 */
export async function inPlaceVersusRecreate(sup, name, n, progress, label) {
  const key = `default/${name}`;
  await waitFor(() => allRunning(sup.get(key)));
  const inPlace = [];
  const recreate = [];
  for (let i = 0; i < n; i++) {
    progress(`${label}: ${i + 1}/${n}`);
    const w = sup.get(key);
    const resets = w.state.resetCount ?? 0;
    let t0 = performance.now();
    w.restart();
    await waitFor(() => (w.state.resetCount ?? 0) > resets && !w.state.reset && allRunning(w));
    inPlace.push(performance.now() - t0);
    const uid = w.state.uid;
    t0 = performance.now();
    w.recreate();
    await waitFor(() => {
      const x = sup.get(key);
      return x && x.state.uid !== uid && allRunning(x);
    });
    recreate.push(performance.now() - t0);
  }
  return { inPlace, recreate };
}
