/**
 * The `podvisor` command line: the composition root.
 */
import { Command, CommanderError } from 'commander';
import type { ImageFlags } from './images.js';
import type { RunFlags } from './run.js';
import type { ServeFlags } from './serve.js';
import type { ClientFlags, LogsFlags } from './client.js';
import { describeCliError } from './transport.js';

/** How a client verb finds the daemon (the order of `endpoint.ts`), for `--help`. */
const FINDING_THE_DAEMON = `
Finding podvisor serve (the first that applies):
  1. --server URL or --socket PATH
  2. $PODVISOR_ENDPOINT (https://HOST:PORT, http://HOST:PORT or unix:///PATH)
  3. the endpoint serve recorded in DATA_DIR/endpoint.json (--data-dir)
  4. https://127.0.0.1:7443
The daemon's certificate must be signed by DATA_DIR/tls/cert.pem; the token is --token, else
$PODVISOR_TOKEN, else DATA_DIR/token. So --data-dir alone finds the daemon that uses it.`;

/** Adds the connection flags of the client verbs. */
function clientOptions(c: Command): Command {
  return c
    .option('--server <url>', 'podvisor serve endpoint: https://HOST:PORT or unix:///PATH (default $PODVISOR_ENDPOINT, else the data dir\'s endpoint.json, else https://127.0.0.1:7443)')
    .option('--socket <path>', 'talk to podvisor serve over this unix socket')
    .option('--token <token>', 'API token (default $PODVISOR_TOKEN or the data dir\'s token file)')
    .option('--data-dir <dir>', 'data dir of the daemon: its endpoint, CA and token (default $XDG_STATE_HOME/podvisor or ~/.local/state/podvisor)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addHelpText('after', FINDING_THE_DAEMON);
}

/**
 * Runs a verb whose failures are the user's to fix (an unreachable daemon, a certificate of
 * another data dir, a refused token, a missing file): any error is one line on stderr and exit
 * code 1, never a stack trace.
 */
async function oneLineErrors(run: () => Promise<number> | number): Promise<number> {
  try {
    return await run();
  } catch (err) {
    process.stderr.write(`error: ${describeCliError(err)}\n`);
    return 1;
  }
}

/** Adds the image store's flags. */
function imageOptions(c: Command): Command {
  return c
    .option('--image-dir <dir>', 'the image store (default $XDG_CACHE_HOME/podvisor/images or ~/.cache/podvisor/images)')
    .option('--registry-config <file>', 'registry credentials, a Docker config file (default ~/.docker/config.json)')
    .option('--insecure-registry <host:port>', 'a registry reached over plain HTTP (loopback registries always are); repeatable', collect, []);
}

/** Adds the image flags of the commands that run pods (the store's flags and its garbage collection). */
function runImageOptions(c: Command): Command {
  return imageOptions(c)
    .option('--image-gc-high-threshold <percent>', 'oci runtime: above this disk usage of the image store, unused images are removed (default 85)')
    .option('--image-gc-low-threshold <percent>', 'oci runtime: ... until the usage is below this (default 80)');
}

function resource(kind: string): boolean {
  return ['pod', 'pods', 'po'].includes(kind);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runs the CLI with the given arguments (without `node` and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('podvisor')
    .description('Run Kubernetes Pods on one machine with Kubernetes 1.36 restart semantics')
    .version('0.1.0')
    .exitOverride();
  program
    .command('validate')
    .description('Check manifests (Pods, and the Namespaces, ConfigMaps and Secrets of a bundle) as a Kubernetes 1.36 API server would, without running them')
    .requiredOption('-f, --filename <file>', 'manifest file (YAML or JSON, several documents allowed); "-" reads stdin; repeatable', collect, [])
    .action(async (opts: { filename: string[] }) => {
      exitCode = await (await import('./validate.js')).runValidate(opts.filename);
    });
  runImageOptions(program
    .command('run'))
    .description('Run the pods of a manifest on this machine and supervise them until they finish; the ConfigMaps and Secrets of the files are what the pods read')
    .requiredOption('-f, --filename <file>', 'manifest file (YAML or JSON): Pods, and the Namespaces, ConfigMaps and Secrets they use; "-" reads stdin; repeatable', collect, [])
    .option('--timeout <duration>', 'terminate the pods gracefully after this long (e.g. 30s, 5m) and exit 124')
    .option('--backoff-initial <duration>', 'CrashLoopBackOff initial delay, node-wide (default 10s; 0 disables)')
    .option('--backoff-max <duration>', 'CrashLoopBackOff maximum delay, node-wide (default 5m)')
    .option('-o, --output <format>', 'print the final Pod (or a List) as json or yaml when the run ends, and nothing else')
    .option('-w, --watch', 'with -o: also show the live view (on stderr)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while the run lasts')
    .option('--runtime <name>', 'container runtime: host (processes on this machine), sandbox (Linux namespaces, cgroups, pod IPs; root) or oci (real images run by runc in the sandbox; root)', 'host')
    .option('--monitor <kind>', 'each container\'s parent: direct (podvisor; the containers end with the run) or conmon (a monitor per container), or auto (conmon when installed)', 'direct')
    .option('--gpus <n|ids>', 'GPU inventory for nvidia.com/gpu limits: a count or a list of IDs (default: nvidia-smi -L)')
    .option('--data-dir <dir>', 'where sandboxes, volumes and logs live (default: a fresh directory under the temp dir)')
    .option('--report <file.html>', 'write the restart timeline of every pod to this self-contained HTML file (kept up to date while the run goes, complete when it ends)')
    .action(async (opts: RunFlags) => {
      exitCode = await (await import('./run.js')).runRun(opts);
    });
  runImageOptions(program
    .command('serve'))
    .description('Run the node agent: a durable daemon with a Kubernetes-compatible API (kubectl works against it)')
    .option('--data-dir <dir>', 'where pods, state, events and logs are kept (default $XDG_STATE_HOME/podvisor or ~/.local/state/podvisor)')
    .option('--listen <host:port>', 'TCP address (loopback by default: 127.0.0.1:7443; port 0 picks a free one); the actual endpoints are recorded in DATA_DIR/endpoint.json, where clients find them')
    .option('--socket <path>', 'also (or only) listen on this unix socket, mode 0600')
    .option('--runtime <name>', 'container runtime: host, sandbox or oci', 'host')
    .option('--monitor <kind>', 'each container\'s parent: auto (conmon when installed, else podvisor), conmon (containers outlive serve and are re-adopted) or direct (podvisor; containers end with serve)', 'auto')
    .option('--gpus <n|ids>', 'GPU inventory for nvidia.com/gpu limits: a count or a list of IDs (default: nvidia-smi -L)')
    .option('--backoff-initial <duration>', 'CrashLoopBackOff initial delay (default 10s)')
    .option('--backoff-max <duration>', 'CrashLoopBackOff maximum delay (default 5m)')
    .option('--stop-pods-on-exit', 'stop the containers when serve stops (SIGTERM, then SIGKILL at the grace period); by default they keep running where the runtime allows it and the next start re-adopts them')
    .action(async (opts: ServeFlags) => {
      exitCode = await (await import('./serve.js')).runServe(opts);
    });
  clientOptions(program.command('apply').description('Create or update the objects of a manifest on podvisor serve: Namespaces first, then ConfigMaps and Secrets, then Pods')
    .requiredOption('-f, --filename <file>', 'manifest file; repeatable', collect, []))
    .action(async (opts: ClientFlags & { filename: string[] }, cmd: Command) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runApply(opts.filename, opts, { namespaceGiven: cmd.getOptionValueSource('namespace') === 'cli' }));
    });
  clientOptions(program.command('get').description('List pods (kubectl get pods)').argument('<resource>', 'pods').argument('[name]')
    .option('-o, --output <format>', 'wide, json or yaml').option('-w, --watch', 'watch for changes'))
    .action(async (kind: string, name: string | undefined, opts: ClientFlags & { output?: string; watch?: boolean }) => {
      if (!resource(kind)) {
        process.stderr.write(`error: the server doesn't have a resource type "${kind}" (podvisor serves pods)\n`);
        exitCode = 1;
        return;
      }
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runGet(name, opts, opts));
    });
  clientOptions(program.command('describe').description('Show a pod: containers, conditions, restart records, events').argument('<resource>').argument('<name>'))
    .action(async (_kind: string, name: string, opts: ClientFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runDescribe(name, opts));
    });
  clientOptions(program.command('logs').description('Print the logs of a container').argument('<name>')
    .option('-c, --container <name>', 'container').option('-p, --previous', 'the previous instance').option('-f, --follow', 'follow')
    .option('--tail <n>', 'last n lines').option('--timestamps', 'prefix timestamps')
    .option('--since <duration>', 'only logs newer than a relative duration like 5s, 2m or 3h')
    .option('--since-time <time>', 'only logs at or after an RFC3339 time like 2026-12-06T23:48:13Z'))
    .action(async (name: string, opts: ClientFlags & LogsFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runLogs(name, opts, opts));
    });
  clientOptions(program.command('delete').description('Delete a pod gracefully').argument('<resource>').argument('<name>')
    .option('--grace-period <seconds>', 'override terminationGracePeriodSeconds').option('--no-wait', 'do not wait until the pod is gone'))
    .action(async (_kind: string, name: string, opts: ClientFlags & { gracePeriod?: string; wait?: boolean }) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runDelete(name, opts, opts));
    });
  clientOptions(program.command('restart').description('Restart one container, or the whole pod in place (init containers re-run, sandbox kept)').argument('<resource>').argument('<name>')
    .option('-c, --container <name>', 'restart only this container'))
    .action(async (_kind: string, name: string, opts: ClientFlags & { container?: string }) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runRestartVerb('restart', name, opts.container, opts));
    });
  clientOptions(program.command('recreate').description('Re-create a pod: fresh sandbox, new UID, same manifest').argument('<resource>').argument('<name>'))
    .action(async (_kind: string, name: string, opts: ClientFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runRestartVerb('recreate', name, undefined, opts));
    });
  clientOptions(program.command('history').description('The restart timeline of a pod: every restart at every level, with its cause').argument('<resource>').argument('<name>'))
    .action(async (_kind: string, name: string, opts: ClientFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runHistory(name, opts));
    });
  clientOptions(program.command('kubeconfig').description('Print a kubeconfig that points kubectl at podvisor serve'))
    .action(async (opts: ClientFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./client.js')).runKubeconfig(opts));
    });
  imageOptions(program.command('pull').description('Pull an image from its registry into the image store').argument('<image>'))
    .option('--platform <os/arch>', 'the platform to pull from a multi-platform image (default: this machine\'s)')
    .action(async (image: string, opts: ImageFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./images.js')).runPull(image, opts));
    });
  imageOptions(program.command('images').description('List the images in the image store'))
    .action(async (opts: ImageFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./images.js')).runImages(opts));
    });
  imageOptions(program.command('rmi').description('Remove images from the image store (and the blobs no other image uses)').argument('<image...>'))
    .action(async (images: string[], opts: ImageFlags) => {
      exitCode = await oneLineErrors(async () => (await import('./images.js')).runRmi(images, opts));
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
