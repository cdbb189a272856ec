// The invariants of the chaos soak (scripts/soak.mjs). `Checks` counts every check by name and
// keeps the violations; `World` is what the soak knows and expects of its pods (expected UID,
// highest restartCount seen per UID and container, terminal states, deleted UIDs), fed with
// every pod list the API returns and every scan of the process table.
import { KINDS, neverOutcome } from './soak-pods.mjs';

const TERMINAL = new Set(['Succeeded', 'Failed']);
// The soak never kills a monitor, so a daemon restart must find every container it started.
const LOST = 'no container is lost by a daemon restart';
const idOf = (containerID) => String(containerID ?? '').replace(/^[a-z]+:\/\//, '');
const short = (uid) => String(uid ?? '?').slice(0, 8);

export class Checks {
  constructor(journal = () => {}) {
    this.counts = new Map();
    this.violations = [];
    this.journal = journal;
  }

  count(name) {
    let c = this.counts.get(name);
    if (!c) this.counts.set(name, (c = { ok: 0, fail: 0 }));
    return c;
  }

  ok(name, n = 1) {
    this.count(name).ok += n;
  }

  fail(name, msg) {
    this.count(name).fail++;
    this.violations.push(`${name}: ${msg}`);
    this.journal(`VIOLATION ${name}: ${msg}`);
    process.stderr.write(`VIOLATION ${name}: ${msg}\n`);
  }

  /** Counts `cond` under `name`; `msg` (a function, evaluated on failure only) says what broke. */
  check(name, cond, msg) {
    if (cond) this.ok(name);
    else this.fail(name, typeof msg === 'function' ? msg() : msg);
    return cond;
  }
}

export class World {
  /** `upMs()`: milliseconds the daemon has been up in total (time the daemon cannot act is not counted). */
  constructor(checks, upMs) {
    this.checks = checks;
    this.upMs = upMs;
    this.pods = new Map(); // name -> {name, kind, variant, gen, uid, phase: live|creating|deleting|recreating, touchedAt, ...}
    this.uids = new Map(); // uid -> what was seen of that pod instance
    this.latest = new Map(); // name -> the pod as last listed
    this.idToUid = new Map(); // container ID -> pod UID
    this.dupSeen = new Map();
    this.staleSeen = new Map();
    this.reported = new Set();
    this.info = { recreatesLost: 0 };
    this.lostAt = new Map(); // pod UID -> times a lost container was reported (one report per loss)
  }

  /**
   * A lost container, reported once: the daemon's log, the restart record (trigger `unknown`)
   * and the status (`ContainerStatusUnknown`) may each show the same loss, within a minute.
   */
  lost(uid, at, msg) {
    const seen = this.lostAt.get(uid) ?? [];
    if (seen.some((t) => Math.abs(t - at) < 60_000)) return;
    this.lostAt.set(uid, [...seen, at]);
    this.checks.fail(LOST, msg);
  }

  /** Reports `name: msg` once per `key` (a condition that persists is one violation). */
  failOnce(key, name, msg) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.checks.fail(name, msg);
  }

  uidInfo(uid, name, kind, variant) {
    let u = this.uids.get(uid);
    if (!u) this.uids.set(uid, (u = { uid, name, kind, variant, touched: false, maxRc: new Map(), terminal: undefined, stuck: new Map(), ended: new Map(), records: 0, goneUp: undefined, leakChecked: false }));
    return u;
  }

  created(st, uid) {
    st.uid = uid;
    st.phase = 'live';
    this.uidInfo(uid, st.name, st.kind, st.variant);
  }

  /** The chaos acted on this pod: its PIDs and its Never outcome are no longer predictable. */
  touch(name) {
    const st = this.pods.get(name);
    if (!st) return;
    st.touchedAt = Date.now();
    const u = this.uids.get(st.uid);
    if (u) u.touched = true;
  }

  gone(uid) {
    const u = this.uids.get(uid);
    if (u && u.goneUp === undefined) u.goneUp = this.upMs();
  }

  /** One pod list from the API (daemon up). Returns the names whose deletion completed. */
  observe(items, daemonStarts) {
    const mine = new Map(items.map((p) => [p.metadata.name, p]));
    this.latest = mine;
    const deleted = [];
    for (const st of this.pods.values()) {
      const p = mine.get(st.name);
      if (st.phase === 'live') {
        this.checks.check('pods exist with their UID', p !== undefined && p.metadata.uid === st.uid, () => `${st.name}: expected UID ${st.uid}, found ${p ? p.metadata.uid : 'no pod'}`);
      } else if (st.phase === 'recreating') {
        const r = st.recreate;
        if (p && p.metadata.uid !== r.oldUid) {
          this.gone(r.oldUid);
          this.created(st, p.metadata.uid);
          this.checks.ok('re-created pods get a new UID');
        } else if (this.upMs() - r.upAt > 60_000) {
          // A re-creation the daemon accepted and then lost to a kill -9 before storing it.
          if (daemonStarts > r.starts && p) this.info.recreatesLost++;
          else this.checks.fail('re-created pods get a new UID', `${st.name}: still UID ${p?.metadata.uid ?? 'none'} 60 s after POST recreate`);
          if (p) this.created(st, p.metadata.uid);
        }
      } else if (st.phase === 'deleting') {
        if (!p) {
          this.gone(st.uid);
          deleted.push(st.name);
        } else if (this.upMs() - st.deleteUp > 90_000) {
          this.failOnce(`del-${st.uid}`, 'deletions complete', `${st.name} (${short(st.uid)}) still listed 90 s after DELETE (deletionTimestamp ${p.metadata.deletionTimestamp})`);
        }
      }
    }
    for (const p of mine.values()) this.observePod(p);
    return deleted;
  }

  observePod(p) {
    const name = p.metadata.name;
    const st = this.pods.get(name);
    if (!st) return;
    const uid = p.metadata.uid;
    const u = this.uidInfo(uid, name, st.kind, st.variant);
    const kind = KINDS[st.kind];
    const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
    const up = this.upMs();
    for (const s of statuses) {
      for (const id of [s.containerID, s.lastState?.terminated?.containerID]) if (id) this.idToUid.set(idOf(id), uid);
      const w = s.state?.waiting;
      if (w && /^(CreateContainerError|CreateContainerConfigError|RunContainerError)$/.test(w.reason ?? '')) {
        this.failOnce(`cw-${uid}-${s.name}-${s.restartCount}-${w.reason}`, 'every container starts', `${name} (${short(uid)}) [${s.name}] waiting: ${w.reason}: ${w.message ?? ''}`);
      }
      const prev = u.maxRc.get(s.name);
      if (prev !== undefined) {
        this.checks.check('restartCount never goes backwards', s.restartCount >= prev, () => `${name} (${short(uid)}) [${s.name}]: restartCount ${prev} -> ${s.restartCount}`);
      }
      u.maxRc.set(s.name, Math.max(prev ?? 0, s.restartCount ?? 0));
      for (const t of [s.state?.terminated, s.lastState?.terminated]) {
        if (!t) continue;
        if (t.reason === 'ContainerStatusUnknown') {
          this.lost(uid, Date.parse(t.finishedAt ?? '') || Date.now(), `${name} (${short(uid)}) [${s.name}] restartCount ${s.restartCount}: ContainerStatusUnknown: ${t.message ?? ''}`);
        }
        // A container that could not be started (podvisor or the machine failed, not the command).
        if (t.reason === 'StartError') {
          u.startErrors = true;
          this.failOnce(`se-${uid}-${s.name}-${t.finishedAt}`, 'every container starts', `${name} (${short(uid)}) [${s.name}]: StartError (exit ${t.exitCode}) at ${t.finishedAt}: ${t.message ?? ''}`);
        }
        if (kind.emptyDirCheck && s.name === 'trainer' && t.exitCode === 99) {
          this.failOnce(`ed-${uid}-${s.restartCount}`, 'emptyDir survives in-place restarts', `${name} (${short(uid)}): trainer exited 99 (its emptyDir lost an entry), restartCount ${s.restartCount}`);
        }
      }
    }
    const phase = p.status?.phase;
    // A pod being deleted or re-created is being stopped on purpose: no policy applies to it.
    if (p.metadata.deletionTimestamp || st.phase !== 'live' || st.uid !== uid) return;
    if (kind.neverEnds) this.checks.check('Always pods never end', !TERMINAL.has(phase), () => `${name} (${short(uid)}) is ${phase}: ${p.status?.reason ?? ''} ${p.status?.message ?? ''}`);
    if (kind.neverPod) {
      this.checks.check('Never pods never restart a container', statuses.every((s) => (s.restartCount ?? 0) === 0), () => `${name} (${short(uid)}): ${statuses.map((s) => `${s.name}=${s.restartCount}`).join(' ')}`);
      if (u.terminal !== undefined) {
        this.checks.check('a completed Never pod stays terminal', phase === u.terminal, () => `${name} (${short(uid)}): was ${u.terminal}, now ${phase}`);
      } else if (TERMINAL.has(phase)) {
        u.terminal = phase;
        if (!u.touched && !u.startErrors) {
          const want = neverOutcome(st.variant);
          const code = p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
          this.checks.check('an untouched Never pod ends as its exit code says', phase === want.phase && code === want.code, () => `${name} (${short(uid)}): ${phase} with exit code ${code}, expected ${want.phase} with ${want.code}`);
        }
      }
    }
    for (const c of kind.terminalOnce ?? []) {
      const s = statuses.find((x) => x.name === c);
      const t = s?.state?.terminated;
      const seen = u.ended.get(c);
      if (seen) {
        this.checks.check('a container no rule restarts stays terminated', t !== undefined && idOf(t.containerID) === seen.id && s.restartCount === seen.rc,
          () => `${name} (${short(uid)}) [${c}]: ended with ${seen.code} (restartCount ${seen.rc}), now ${JSON.stringify(s?.state)} restartCount ${s?.restartCount}`);
      } else if (t && t.exitCode !== 4) {
        u.ended.set(c, { id: idOf(t.containerID), rc: s.restartCount, code: t.exitCode });
      }
    }
    for (const c of kind.restarting) {
      const s = statuses.find((x) => x.name === c);
      const t = s?.state?.terminated;
      // A StartError ends a container whose rules do not cover exit 128 (reported above).
      if (!t || (t.reason === 'StartError' && st.kind === 'rules')) {
        u.stuck.delete(c);
        if (s) this.checks.ok('containers that must restart are restarted');
        continue;
      }
      const k = `${c}/${t.containerID}`;
      const since = u.stuck.get(c);
      if (!since || since.k !== k) {
        u.stuck.set(c, { k, up });
        this.checks.ok('containers that must restart are restarted');
      } else if (up - since.up > 30_000) this.failOnce(`stuck-${uid}-${k}`, 'containers that must restart are restarted', `${name} (${short(uid)}) [${c}] terminated (exit ${t.exitCode}, ${t.reason}) for 30 s of daemon time`);
      else this.checks.ok('containers that must restart are restarted');
    }
  }

  /** Restart records of one pod instance: readable, never fewer than before, no emptyDir loss. */
  records(name, uid, res) {
    if (!this.checks.check('restart records are readable', res.status === 200 && res.json?.kind === 'RestartRecordList' && Array.isArray(res.json.items), () => `${name}: HTTP ${res.status} ${res.body.slice(0, 200)}`)) return;
    const u = this.uids.get(uid);
    if (!u) return;
    const items = res.json.items;
    const mine = items.filter((r) => r.podUid === uid).length;
    if (items.length < 1000) this.checks.check('restart records are never lost', mine >= u.records, () => `${name} (${short(uid)}): ${u.records} records before, ${mine} now`);
    u.records = Math.max(u.records, mine);
    for (const r of items.filter((x) => x.podUid === uid)) {
      if (r.trigger !== 'unknown' && r.cause?.kind !== 'unknown') continue;
      this.lost(uid, r.time, `${name} (${short(uid)}) [${r.container}] restartCount ${r.restartCount}: restart record at ${new Date(r.time).toISOString()}: ${r.description}`);
    }
    this.checks.ok(LOST);
    if (KINDS[u.kind].emptyDirCheck) {
      const lost = items.filter((r) => r.podUid === uid && (r.exitCode === 99 || (r.removed ?? []).some((x) => x.container === 'trainer' && x.exitCode === 99)));
      this.checks.check('emptyDir survives in-place restarts', lost.length === 0, () => `${name} (${short(uid)}): ${lost.length} restart records of a trainer exit 99 (emptyDir lost an entry): ${lost[0]?.description}`);
    }
  }

  /**
   * One scan of the process table (daemon up): processes of pods that are gone (after a grace
   * of 20 s of daemon time for stopping), monitors of their containers, two process trees for
   * one container, and processes of container instances the API has replaced (10 s grace).
   */
  processes(scan) {
    const up = this.upMs();
    const byUid = new Map();
    for (const p of scan.marked) {
      if (!byUid.has(p.uid)) byUid.set(p.uid, []);
      byUid.get(p.uid).push(p);
    }
    for (const u of this.uids.values()) {
      if (u.goneUp === undefined || u.leakChecked || up - u.goneUp < 20_000) continue;
      u.leakChecked = true;
      const left = byUid.get(u.uid) ?? [];
      this.checks.check('no process of a deleted or re-created pod survives', left.length === 0, () => `${u.name} (${short(u.uid)}) gone for 20 s, still running: ${left.map((p) => `${p.pid} [${p.c}]`).join(', ')}`);
      const mons = [...scan.monitors].filter(([, id]) => this.idToUid.get(id) === u.uid);
      this.checks.check('no monitor of a deleted or re-created pod survives', mons.length === 0, () => `${u.name} (${short(u.uid)}): conmon ${mons.map(([pid, id]) => `${pid} (${id.slice(0, 12)})`).join(', ')}`);
    }
    const mains = new Map();
    for (const p of scan.marked) {
      if (!p.containerId) continue;
      const k = `${p.uid}/${p.c}`;
      if (!mains.has(k)) mains.set(k, []);
      mains.get(k).push(p);
    }
    const dups = new Map();
    const stale = new Map();
    for (const [k, ps] of mains) {
      const st = this.pods.get(ps[0].pod);
      const pod = this.latest.get(ps[0].pod);
      if (ps.length > 1) {
        const key = ps.map((p) => p.pid).sort().join(',');
        const first = this.dupSeen.get(k);
        dups.set(k, first?.key === key ? first : { key, up });
        if (first?.key === key && up - first.up > 10_000) this.failOnce(`dup-${k}-${key}`, 'one process per container', `${ps[0].pod} (${short(ps[0].uid)}) [${ps[0].c}]: ${ps.length} instances run: ${ps.map((p) => `${p.pid} (${p.containerId.slice(0, 12)})`).join(', ')}`);
      }
      // A replaced instance whose process still runs, while the API shows another one running.
      if (!st || !pod || pod.metadata.uid !== ps[0].uid) continue;
      const s = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((x) => x.name === ps[0].c);
      for (const p of ps) {
        const sk = `${k}/${p.pid}/${p.start}`;
        if (s?.state?.running && idOf(s.containerID) !== p.containerId) {
          const first = this.staleSeen.get(sk) ?? up;
          stale.set(sk, first);
          if (up - first > 10_000) this.failOnce(`stale-${sk}`, 'no process of a replaced container instance survives', `${p.pod} (${short(p.uid)}) [${p.c}]: process ${p.pid} of instance ${p.containerId.slice(0, 12)} runs, the API shows ${idOf(s.containerID).slice(0, 12)} running`);
        }
      }
    }
    this.dupSeen = dups;
    this.staleSeen = stale;
    this.checks.ok('one process per container');
  }
}
