// The chaos soak's driver (used by scripts/soak.mjs): one `podvisor serve` on the host runtime,
// its pods, the chaos actions, the daemon restarts and the checks after each start.
import { Buffer } from 'node:buffer';
import { appendFileSync, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Checks, World } from './soak-checks.mjs';
import { Api, Daemon, freePort, killQuietly, rssMb, scanProcesses, sleep, stillRuns } from './soak-lib.mjs';
import { KILLABLE, KINDS, podManifest, podNames } from './soak-pods.mjs';

const PODS = '/api/v1/namespaces/default/pods';
const idOf = (containerID) => String(containerID ?? '').replace(/^[a-z]+:\/\//, '');
const statusesOf = (p) => [...(p?.status?.initContainerStatuses ?? []), ...(p?.status?.containerStatuses ?? [])];

export class Soak {
  constructor({ root, tmp, run, rand, pods, volumes }) {
    Object.assign(this, { root, tmp, run, rand, volumes });
    this.dataDir = join(tmp, 'data');
    this.mnt = join(tmp, 'mnt');
    this.journalFile = join(tmp, 'journal.log');
    this.checks = new Checks((m) => this.note(m));
    this.upTotal = 0;
    this.upSince = undefined;
    this.world = new World(this.checks, () => this.upTotal + (this.upSince === undefined ? 0 : Date.now() - this.upSince));
    this.daemon = new Daemon({
      cli: join(root, 'bin', 'podvisor.js'), cwd: root, dataDir: this.dataDir, logFile: join(tmp, 'serve.log'),
      // Node-wide short back-offs (the crash, rules and rac pods set their own by annotation).
      args: ['--backoff-initial', '1s', '--backoff-max', '10s'],
    });
    this.api = new Api(this.dataDir, 0);
    this.actions = new Map();
    this.rss = { samples: [], preStop: [] };
    this.startMs = [];
    this.stopMs = [];
    this.expectExit = false;
    this.logOffset = 0;
    this.resumed = new Set(); // pod UIDs the daemon re-adopted since its last start (from its log)
    this.specs = podNames(pods);
  }

  /** One line of the run's journal (what the soak did, when; kept with the daemon's log on failure). */
  note(msg) {
    appendFileSync(this.journalFile, `${new Date().toISOString()} ${msg}\n`);
  }

  act(what, n = 1) {
    this.actions.set(what, (this.actions.get(what) ?? 0) + n);
  }

  get up() {
    return this.upSince !== undefined && this.daemon.running;
  }

  /** Starts the daemon and waits until its API lists pods (90 s); a port taken meanwhile is replaced. */
  async start(why) {
    for (let attempt = 1; ; attempt++) {
      if (!this.port) this.port = await freePort();
      const t0 = Date.now();
      this.expectExit = false;
      const proc = this.daemon.spawn(this.port, (p, code, signal) => this.exited(p, code, signal));
      let loaded = false;
      let last = '';
      while (Date.now() - t0 < 90_000 && proc.exitCode === null && proc.signalCode === null) {
        if (!loaded && existsSync(join(this.dataDir, 'token')) && existsSync(join(this.dataDir, 'tls', 'cert.pem'))) {
          this.api.reload(this.port);
          loaded = true;
        }
        if (loaded) {
          try {
            const r = await this.api.request('GET', PODS, undefined, 5000);
            if (r.status === 200 && r.json?.kind === 'PodList') break;
            last = `HTTP ${r.status}`;
          } catch (err) {
            last = err.message;
          }
        }
        await sleep(200);
      }
      if (proc.exitCode === null && proc.signalCode === null && Date.now() - t0 < 90_000) {
        this.upSince = Date.now();
        this.resumed.clear();
        this.startMs.push(Date.now() - t0);
        this.note(`daemon pid ${proc.pid} ready in ${Date.now() - t0} ms (${why})`);
        this.act(`daemon starts (${why})`);
        return;
      }
      const tail = this.daemon.tail(15);
      this.expectExit = true;
      if (proc.exitCode === null) await this.daemon.stop('SIGKILL', 10_000);
      if (attempt < 3 && tail.some((l) => l.includes('EADDRINUSE'))) {
        this.port = undefined;
        continue;
      }
      this.checks.fail('the daemon starts and answers', `no answer within 90 s (${last}); its last lines:\n    ${tail.join('\n    ')}`);
      throw new Error('the daemon does not start');
    }
  }

  exited(proc, code, signal) {
    if (this.upSince !== undefined) this.upTotal += Date.now() - this.upSince;
    this.upSince = undefined;
    if (this.expectExit || proc !== this.daemon.proc) return;
    this.checks.fail('the daemon never exits on its own', `it exited (code ${code}, signal ${signal}); its last lines:\n    ${this.daemon.tail(20).join('\n    ')}`);
  }

  /** Stops the daemon with `signal`: SIGTERM must end it with code 0 within 45 s. */
  async stop(signal) {
    this.expectExit = true;
    this.note(`daemon pid ${this.daemon.pid}: ${signal}`);
    const r = await this.daemon.stop(signal);
    if (signal === 'SIGTERM') {
      if (r === undefined) {
        this.checks.fail('SIGTERM stops the daemon cleanly', `still running 45 s after SIGTERM; last lines:\n    ${this.daemon.tail(15).join('\n    ')}`);
        await this.daemon.stop('SIGKILL', 10_000);
        return;
      }
      this.stopMs.push(r.ms);
      this.checks.check('SIGTERM stops the daemon cleanly', r.code === 0, () => `exit code ${r.code}, signal ${r.signal}; last lines:\n    ${this.daemon.tail(15).join('\n    ')}`);
    }
  }

  /** An API answer: 5xx (or a broken one) is a violation, 4xx a refusal the chaos counts. */
  answered(what, r) {
    if (r.status >= 200 && r.status < 300) return true;
    if (r.status >= 500 || r.status === 0) this.checks.fail('the API answers every request', `${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    else this.act(`refused by the API (${r.status} ${r.json?.reason ?? ''})`);
    return false;
  }

  async createAll() {
    for (const s of this.specs) {
      const st = { ...s, gen: 1, phase: 'creating', touchedAt: 0, uid: undefined };
      this.world.pods.set(s.name, st);
      await this.create(st);
    }
  }

  async create(st) {
    const pod = podManifest({ run: this.run, name: st.name, kind: st.kind, variant: st.variant, gen: st.gen, mnt: this.mnt, volumes: this.volumes });
    const r = await this.api.call('POST', PODS, pod);
    if (r.status === 201 || r.status === 200) {
      this.world.created(st, r.json.metadata.uid);
      this.note(`created ${st.name} gen ${st.gen} uid ${st.uid}`);
      return;
    }
    if (r.status === 409) { // a create whose answer was lost: adopt it when it is this generation
      const g = await this.api.call('GET', `${PODS}/${st.name}`);
      if (g.status === 200 && g.json.metadata.labels?.['soak-gen'] === String(st.gen)) this.world.created(st, g.json.metadata.uid);
      return;
    }
    this.answered(`create ${st.name}`, r);
  }

  /** Lists the pods and feeds the checks; deletions that completed are checked and re-created. */
  async observe() {
    const r = await this.api.call('GET', `${PODS}?labelSelector=soak-run%3D${this.run}`);
    if (!this.checks.check('the API answers every request', r.status === 200 && r.json?.kind === 'PodList', () => `list pods: HTTP ${r.status} ${r.body.slice(0, 300)}`)) return;
    const deleted = this.world.observe(r.json.items.filter((p) => p.metadata.labels?.['soak-run'] === this.run), this.daemon.starts);
    for (const name of deleted) {
      const st = this.world.pods.get(name);
      const left = scanProcesses(this.run, this.dataDir).marked.filter((p) => p.uid === st.uid);
      this.checks.check('no process of a deleted pod survives once the API no longer lists it', left.length === 0,
        () => `${name} (${String(st.uid).slice(0, 8)}): ${left.map((p) => `${p.pid} [${p.c}]`).join(', ')}`);
      this.note(`gone: ${name} uid ${st.uid}`);
      st.gen++;
      st.phase = 'creating';
      st.touchedAt = Date.now();
    }
    for (const st of this.world.pods.values()) if (st.phase === 'creating') await this.create(st);
  }

  sampleRss(preStop = false) {
    const mb = this.daemon.pid !== undefined ? rssMb(this.daemon.pid) : undefined;
    if (mb !== undefined) for (const xs of preStop ? [this.rss.samples, this.rss.preStop] : [this.rss.samples]) xs.push(mb);
  }

  /**
   * The daemon's own word on each re-adoption: every `pod resumed after a podvisor restart` line
   * of its log since the last call. A container it lost (`lost`) or a leftover process it killed
   * (`leftoverContainers`) is a container the restart did not keep (the soak kills no monitor).
   */
  readLog() {
    let text;
    try {
      const size = statSync(this.daemon.logFile).size;
      if (size <= this.logOffset) return;
      const buf = Buffer.alloc(size - this.logOffset);
      const fd = openSync(this.daemon.logFile, 'r');
      readSync(fd, buf, 0, buf.length, this.logOffset);
      closeSync(fd);
      text = buf.toString('utf8');
    } catch {
      return;
    }
    const end = text.lastIndexOf('\n');
    if (end < 0) return;
    this.logOffset += Buffer.byteLength(text.slice(0, end + 1));
    for (const line of text.slice(0, end).split('\n')) {
      if (!line.includes('pod resumed after a podvisor restart')) continue;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      this.resumed.add(e.podUid);
      if (!(e.lost > 0) && !(e.leftoverContainers > 0)) this.checks.ok('no container is lost by a daemon restart');
      else this.world.lost(e.podUid, e.time, `${e.pod} (${String(e.podUid).slice(0, 8)}): the daemon's log at ${new Date(e.time).toISOString()} says: adopted ${e.adopted}, exited while down ${e.exitedWhileDown}, lost ${e.lost}, leftover containers killed ${e.leftoverContainers}`);
    }
  }

  scan() {
    const s = scanProcesses(this.run, this.dataDir);
    if (this.up) this.world.processes(s);
    return s;
  }

  /** Pods the chaos may act on: listed, live, not being deleted. */
  candidates(filter = () => true) {
    return [...this.world.pods.values()].filter((st) => {
      const p = this.world.latest.get(st.name);
      return st.phase === 'live' && p && p.metadata.uid === st.uid && !p.metadata.deletionTimestamp && filter(st, p);
    });
  }

  /** SIGKILLs the main process of a random running container (of a live pod); false when none. */
  killContainer(scan, where) {
    const targets = this.candidates().flatMap((st) => statusesOf(this.world.latest.get(st.name))
      .filter((s) => KILLABLE[st.kind].includes(s.name) && s.state?.running && scan.byContainerId.has(idOf(s.containerID)))
      .map((s) => ({ st, s, proc: scan.byContainerId.get(idOf(s.containerID)) })));
    if (targets.length === 0) return false;
    const t = this.rand.pick(targets);
    if (!stillRuns(t.proc.pid, t.proc.start)) return false;
    this.world.touch(t.st.name);
    this.note(`SIGKILL ${t.st.name} [${t.s.name}] pid ${t.proc.pid} container ${t.proc.containerId} (daemon ${where})`);
    killQuietly(t.proc.pid);
    this.act(`container SIGKILLs (daemon ${where})`);
    return true;
  }

  /** One random chaos action while the daemon is up. */
  async chaos() {
    const inFlux = [...this.world.pods.values()].filter((st) => st.phase !== 'live').length;
    const action = inFlux >= 4 ? 'kill' : this.rand.weighted({ kill: 5, restartContainer: 1.2, restartPod: 1, recreate: 0.6, delete: 1.2 });
    if (action === 'kill') {
      this.killContainer(scanProcesses(this.run, this.dataDir), 'up');
      return;
    }
    if (action === 'delete') {
      const done = this.candidates((st, p) => st.kind === 'never' && ['Succeeded', 'Failed'].includes(p.status?.phase));
      const st = done.length > 0 && this.rand.chance(0.7) ? this.rand.pick(done) : this.rand.pick(this.candidates());
      if (!st) return;
      const grace = this.rand.chance(0.3) ? '?gracePeriodSeconds=0' : '';
      this.world.touch(st.name);
      const r = await this.api.call('DELETE', `${PODS}/${st.name}${grace}`);
      this.note(`DELETE ${st.name}${grace} uid ${st.uid}: ${r.status}`);
      if (this.answered(`delete ${st.name}`, r)) {
        st.phase = 'deleting';
        st.deleteUp = this.world.upMs();
        this.act('pods deleted and created again');
      }
      return;
    }
    const st = this.rand.pick(this.candidates((s) => KINDS[s.kind][action === 'recreate' ? 'recreateApi' : 'restartApi'] === true));
    if (!st) return;
    this.world.touch(st.name);
    if (action === 'recreate') {
      const r = await this.api.call('POST', `${PODS}/${st.name}/recreate`, { requestedBy: 'soak' });
      this.note(`POST ${st.name}/recreate uid ${st.uid}: ${r.status}`);
      if (this.answered(`recreate ${st.name}`, r)) {
        st.phase = 'recreating';
        st.recreate = { oldUid: st.uid, upAt: this.world.upMs(), starts: this.daemon.starts };
        this.act('re-created through the API');
      }
      return;
    }
    const body = { requestedBy: 'soak' };
    if (action === 'restartContainer') body.container = this.rand.pick(KILLABLE[st.kind]);
    const r = await this.api.call('POST', `${PODS}/${st.name}/restart`, body);
    this.note(`POST ${st.name}/restart ${JSON.stringify(body)}: ${r.status}`);
    if (this.answered(`restart ${st.name} ${body.container ?? ''}`, r)) this.act(action === 'restartContainer' ? 'restart API: a container' : 'restart API: the pod in place');
  }

  /**
   * The stable containers to follow across a daemon restart: running sleepers of live pods the
   * chaos has left alone for 20 s, with their container ID, restartCount and main process.
   */
  stableContainers(scan) {
    const out = [];
    for (const st of this.candidates((s) => Date.now() - s.touchedAt > 20_000)) {
      const p = this.world.latest.get(st.name);
      for (const s of statusesOf(p)) {
        if (!KINDS[st.kind].stable.includes(s.name) || !s.state?.running) continue;
        const proc = scan.byContainerId.get(idOf(s.containerID));
        if (proc && proc.uid === st.uid) out.push({ name: st.name, uid: st.uid, c: s.name, id: idOf(s.containerID), rc: s.restartCount, pid: proc.pid, start: proc.start });
      }
    }
    return out;
  }

  /** Stops the daemon (kill -9 or SIGTERM), acts while it is down, starts it and checks. */
  async restartDaemon(signal = this.rand.chance(0.5) ? 'SIGKILL' : 'SIGTERM') {
    await this.observe();
    const tracked = this.stableContainers(this.scan());
    this.readLog();
    const snapAt = Date.now();
    this.note(`before the stop: following ${tracked.length} containers`);
    this.sampleRss(true);
    await this.stop(signal);
    this.act(signal === 'SIGKILL' ? 'daemon kill -9' : 'daemon SIGTERM');
    if (this.rand.chance(0.5)) for (let i = this.rand.int(1, 3); i > 0; i--) this.killContainer(scanProcesses(this.run, this.dataDir), 'down');
    await sleep(this.rand.int(200, 2500));
    const untouched = () => tracked.filter((t) => this.world.pods.get(t.name).touchedAt < snapAt);
    for (const t of untouched()) {
      this.checks.check('containers keep running while the daemon is down', stillRuns(t.pid, t.start), () => `${t.name} [${t.c}] pid ${t.pid} ended after ${signal} of the daemon`);
    }
    await this.start('after a stop');
    for (const t of untouched()) {
      this.checks.check('PIDs kept across daemon restarts', stillRuns(t.pid, t.start), () => `${t.name} [${t.c}] pid ${t.pid} (container ${t.id.slice(0, 12)}) is gone after the daemon's start`);
    }
    await this.readopted(untouched());
    const ev = await this.api.call('GET', '/api/v1/namespaces/default/events');
    this.checks.check('events are readable', ev.status === 200 && ev.json?.kind === 'EventList' && Array.isArray(ev.json.items), () => `HTTP ${ev.status} ${ev.body.slice(0, 200)}`);
    for (const st of this.candidates()) {
      this.world.records(st.name, st.uid, await this.api.call('GET', `${PODS}/${st.name}/restarts`));
    }
    this.scan();
  }

  /**
   * After a start: every followed container has its container ID and restartCount, running,
   * once the daemon says it resumed the pod (the API serves the stored state before that).
   */
  async readopted(tracked) {
    const end = Date.now() + 30_000;
    let pending = tracked;
    while (pending.length > 0) {
      this.readLog();
      await this.observe();
      pending = pending.filter((t) => {
        if (!this.resumed.has(t.uid) && Date.now() <= end) return true;
        const p = this.world.latest.get(t.name);
        const s = statusesOf(p).find((x) => x.name === t.c);
        if (p?.metadata.uid === t.uid && s?.state?.running && idOf(s.containerID) === t.id && s.restartCount === t.rc) {
          this.checks.ok('containerID and restartCount kept across daemon restarts');
          return false;
        }
        const moved = s && s.containerID && idOf(s.containerID) !== t.id;
        if (moved || Date.now() > end) {
          this.checks.fail('containerID and restartCount kept across daemon restarts', `${t.name} [${t.c}]: was ${t.id.slice(0, 12)} restartCount ${t.rc} running, now ${idOf(s?.containerID).slice(0, 12)} restartCount ${s?.restartCount} ${JSON.stringify(s?.state)}`);
          return false;
        }
        return true;
      });
      if (pending.length > 0) await sleep(500);
    }
  }

  /** Deletes every pod, checks nothing is left, stops the daemon and kills whatever remains. */
  async cleanup() {
    try {
      if (!this.up) await this.start('for the cleanup');
      await sleep(2000); // the re-adoptions of the last start are logged
      this.readLog();
      const list = await this.api.call('GET', `${PODS}?labelSelector=soak-run%3D${this.run}`);
      for (const p of list.json?.items ?? []) await this.api.call('DELETE', `${PODS}/${p.metadata.name}?gracePeriodSeconds=0`);
      const end = Date.now() + 90_000;
      let left = list.json?.items ?? [];
      while (left.length > 0 && Date.now() < end) {
        await sleep(500);
        left = (await this.api.call('GET', `${PODS}?labelSelector=soak-run%3D${this.run}`)).json?.items ?? left;
      }
      this.checks.check('every pod can be deleted at the end', left.length === 0, () => `still listed after 90 s: ${left.map((p) => p.metadata.name).join(', ')}`);
      const procs = scanProcesses(this.run, this.dataDir).marked;
      this.checks.check('no container process is left once every pod is deleted', procs.length === 0, () => procs.map((p) => `${p.pid} ${p.pod}[${p.c}]`).join(', '));
      await this.stop('SIGTERM');
    } catch (err) {
      this.checks.fail('the cleanup works', err.message);
    }
    this.expectExit = true;
    if (this.daemon.running) await this.daemon.stop('SIGKILL', 10_000);
    this.api.close();
    // The monitors end with their containers, spares when the daemon is gone (EOF on their pipe).
    let s = scanProcesses(this.run, this.dataDir);
    for (const end = Date.now() + 15_000; (s.monitors.size > 0 || s.marked.length > 0) && Date.now() < end; s = scanProcesses(this.run, this.dataDir)) await sleep(250);
    this.checks.check('no monitor or container process is left after the daemon stops', s.monitors.size === 0 && s.marked.length === 0,
      () => `conmon ${[...s.monitors.keys()].join(' ')}; container processes ${s.marked.map((p) => p.pid).join(' ')}`);
    for (const p of s.marked) killQuietly(p.pid);
    for (const pid of s.monitors.keys()) killQuietly(pid);
  }

  /** Kills the daemon, every monitor of the data dir and every marked process (an abort). */
  killEverything() {
    this.expectExit = true;
    if (this.daemon.pid) killQuietly(this.daemon.pid);
    const s = scanProcesses(this.run, this.dataDir);
    for (const pid of s.monitors.keys()) killQuietly(pid);
    for (const p of s.marked) killQuietly(p.pid);
  }
}
