// The supervisors `npm run bench -- --peers` runs side by side (see bench-peers.mjs). Each one
// supervises the same programs (`{ id, script }`: a `sh -c` script) with its own means and
// restarts them at once when they exit:
//   start(programs, dir) -> { roots: pids of its own processes, marker: a string in the command
//   line of its other own processes (monitors), stop(): ends it and every program it started }.
// `available()` says why a peer cannot run here (undefined when it can).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { URL, fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';


const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const CLI = join(ROOT, 'bin/podvisor.js');
const PM2 = join(ROOT, 'node_modules/pm2/bin/pm2');
/** Extra flags of podvisor's Node processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where the time goes. */
const NODE_FLAGS = (process.env.PODVISOR_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

const which = (cmd) => {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
};

/** Resolves once `pred()` is truthy (checked every `every` ms); rejects after `ms` with `what`. */
export async function until(what, pred, ms = 120_000, every = 20) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

const exited = (child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));

/** Kills every process whose command line contains `marker` (what a peer left behind). */
export function killMarked(marker) {
  execFileSync('pkill', ['-KILL', '-f', marker], { stdio: 'ignore' }).toString?.();
}

function safeKillMarked(marker) {
  try {
    killMarked(marker);
  } catch {
    // none left
  }
}

/** The floor: a minimal Node process that spawns each program and spawns it again from its exit handler. */
const floor = {
  name: 'Node respawning on exit (floor)',
  key: 'floor',
  available: () => undefined,
  async start(programs, dir) {
    const file = join(dir, 'programs.json');
    writeFileSync(file, JSON.stringify(programs));
    const code = `const { spawn } = require('node:child_process');
const ps = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'));
const run = (p) => spawn('sh', ['-c', p.script], { stdio: 'ignore' }).once('exit', () => run(p));
for (const p of ps) run(p);`;
    const child = spawn(process.execPath, ['-e', code, file], { stdio: 'ignore' });
    return {
      roots: [child.pid],
      async stop() {
        child.kill('SIGKILL');
        await exited(child);
      },
    };
  },
};

const pm2 = {
  name: 'PM2',
  key: 'pm2',
  available: () => (existsSync(PM2) ? undefined : 'pm2 is not installed (npm ci installs it as a dev dependency)'),
  version: () => JSON.parse(readFileSync(join(ROOT, 'node_modules/pm2/package.json'), 'utf8')).version,
  async start(programs, dir) {
    const env = { ...process.env, PM2_HOME: join(dir, 'pm2'), PM2_DISCRETE_MODE: 'true' };
    // interpreter none: PM2 forks the shell itself; restarts at once and forever.
    const apps = programs.map((p) => ({
      name: p.id, script: 'sh', args: ['-c', p.script], interpreter: 'none', autorestart: true,
      restart_delay: 0, max_restarts: 1_000_000_000, min_uptime: 0, out_file: join(dir, 'pm2-out.log'), error_file: join(dir, 'pm2-err.log'), pid_file: join(dir, `pm2-${p.id}.pid`),
    }));
    const eco = join(dir, 'ecosystem.config.cjs');
    writeFileSync(eco, `module.exports = ${JSON.stringify({ apps })};`);
    execFileSync(process.execPath, [PM2, 'start', eco], { env, stdio: 'ignore' });
    const god = Number(readFileSync(join(dir, 'pm2', 'pm2.pid'), 'utf8'));
    return {
      roots: [god],
      async stop() {
        try {
          execFileSync(process.execPath, [PM2, 'kill'], { env, stdio: 'ignore', timeout: 60_000 });
        } finally {
          safeKillMarked(join(dir, 'pm2'));
        }
      },
    };
  },
};

const supervisord = {
  name: 'supervisord',
  key: 'supervisord',
  available: () => (which('supervisord') ? undefined : 'supervisord is not installed (Debian package supervisor)'),
  version: () => execFileSync('supervisord', ['--version'], { encoding: 'utf8' }).trim(),
  async start(programs, dir) {
    const conf = [
      '[supervisord]', `logfile=${join(dir, 'supervisord.log')}`, `pidfile=${join(dir, 'supervisord.pid')}`, 'nodaemon=true', 'minfds=4096', `childlogdir=${dir}`, '',
      ...programs.flatMap((p) => [
        `[program:${p.id}]`, `command=sh -c '${p.script.replaceAll("'", "'\\''").replaceAll('%', '%%')}'`,
        'autorestart=true', 'startsecs=0', 'startretries=1000000000', 'stdout_logfile=NONE', 'stderr_logfile=NONE', '',
      ]),
    ].join('\n');
    const file = join(dir, 'supervisord.conf');
    writeFileSync(file, conf);
    const child = spawn('supervisord', ['-c', file], { stdio: 'ignore' });
    return {
      roots: [child.pid],
      async stop() {
        child.kill('SIGTERM');
        await exited(child);
      },
    };
  },
};

const runit = {
  name: 'runit',
  key: 'runit',
  available: () => (which('runsvdir') && which('runsv') ? undefined : 'runit is not installed (Debian package runit)'),
  version: () => '2.1.2',
  async start(programs, dir) {
    const services = join(dir, 'service');
    for (const p of programs) {
      const d = join(services, p.id);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'run'), `#!/bin/sh\nexec sh -c '${p.script.replaceAll("'", "'\\''")}'\n`);
      chmodSync(join(d, 'run'), 0o755);
    }
    const child = spawn('runsvdir', ['-P', services], { stdio: 'ignore' });
    return {
      roots: [child.pid],
      marker: services,
      async stop() {
        // runsvdir leaves its runsv running; the bench ends those with the rest of the tree.
        child.kill('SIGKILL');
        await exited(child);
      },
    };
  },
};

/** A manifest of pods for the programs: one container each, grouped `perPod` to a pod. */
function podsYaml(programs, perPod) {
  const docs = [];
  for (let i = 0; i < programs.length; i += perPod) {
    const group = programs.slice(i, i + perPod);
    docs.push({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `bench-${i / perPod}`, namespace: 'default' },
      spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 1, containers: group.map((p) => ({ name: p.id, image: 'busybox', command: ['sh', '-c', p.script] })) },
    });
  }
  return docs;
}

const podvisorRun = {
  name: 'podvisor run',
  key: 'podvisorRun',
  available: () => (existsSync(join(ROOT, 'dist/cli/main.js')) ? undefined : 'dist/ is not built'),
  async start(programs, dir) {
    const file = join(dir, 'pods.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: podsYaml(programs, 3) }));
    const data = join(dir, 'data');
    const child = spawn(process.execPath, [...NODE_FLAGS, CLI, 'run', '-f', file, '--backoff-initial', '0', '--data-dir', data, '-o', 'json'], { stdio: ['ignore', 'ignore', 'ignore'] });
    return {
      roots: [child.pid],
      marker: data,
      async stop() {
        child.kill('SIGTERM');
        await exited(child);
        safeKillMarked(data);
      },
    };
  },
};

function api(dataDir, port, path, method = 'GET', body) {
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
  const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => res({ status: r.statusCode, body: b }));
    });
    req.on('error', rej);
    req.end(body);
  });
}

const podvisorServe = {
  name: 'podvisor serve (conmon, via the API)',
  key: 'podvisorServe',
  available: () => (existsSync(join(ROOT, 'dist/cli/main.js')) ? undefined : 'dist/ is not built'),
  async start(programs, dir, { perPod = 3 } = {}) {
    const data = join(dir, 'data');
    const child = spawn(process.execPath, [...NODE_FLAGS, CLI, 'serve', '--data-dir', data, '--listen', '127.0.0.1:0', '--backoff-initial', '0'], { stdio: 'ignore' });
    let port;
    await until('serve is ready', () => {
      if (child.exitCode !== null) throw new Error('podvisor serve exited');
      try {
        const ep = JSON.parse(readFileSync(join(data, 'endpoint.json'), 'utf8'));
        port = Number(new URL(ep.listeners.find((l) => l.startsWith('https:'))).port);
        return port > 0;
      } catch {
        return false;
      }
    }, 30_000);
    for (const pod of podsYaml(programs, perPod)) {
      const r = await api(data, port, '/api/v1/namespaces/default/pods', 'POST', JSON.stringify(pod));
      if (r.status !== 201) throw new Error(`podvisor serve refused a pod: ${r.status} ${r.body}`);
    }
    return {
      roots: [child.pid],
      marker: data,
      async stop() {
        // Containers outlive serve: delete the pods first, then stop the daemon.
        await api(data, port, '/api/v1/namespaces/default/pods?gracePeriodSeconds=0', 'DELETE').catch(() => undefined);
        await until('the pods are deleted', async () => JSON.parse((await api(data, port, '/api/v1/namespaces/default/pods')).body).items?.length === 0, 120_000, 500).catch(() => undefined);
        child.kill('SIGTERM');
        await exited(child);
        safeKillMarked(data);
      },
    };
  },
};

export const peers = [floor, pm2, supervisord, runit, podvisorRun, podvisorServe];
