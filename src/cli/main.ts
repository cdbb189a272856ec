/**
 * The `podvisor` command line: the composition root.
 */
import { Command, CommanderError } from 'commander';
import { runValidate } from './validate.js';
import { runRun, type RunFlags } from './run.js';

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
    .description('Check Pod manifests as a Kubernetes 1.36 API server would, without running them')
    .requiredOption('-f, --filename <file>', 'manifest file (YAML or JSON, several documents allowed); "-" reads stdin; repeatable', collect, [])
    .action(async (opts: { filename: string[] }) => {
      exitCode = await runValidate(opts.filename);
    });
  program
    .command('run')
    .description('Run the pods of a manifest on this machine and supervise them until they finish')
    .requiredOption('-f, --filename <file>', 'manifest file (YAML or JSON); "-" reads stdin; repeatable', collect, [])
    .option('--timeout <duration>', 'terminate the pods gracefully after this long (e.g. 30s, 5m) and exit 124')
    .option('--backoff-initial <duration>', 'CrashLoopBackOff initial delay, node-wide (default 10s; 0 disables)')
    .option('--backoff-max <duration>', 'CrashLoopBackOff maximum delay, node-wide (default 5m)')
    .option('-o, --output <format>', 'print the final Pod (or a List) as json or yaml when the run ends, and nothing else')
    .option('-w, --watch', 'with -o: also show the live view (on stderr)')
    .option('--runtime <name>', 'container runtime: host (processes on this machine)', 'host')
    .option('--data-dir <dir>', 'where sandboxes, volumes and logs live (default: a fresh directory under the temp dir)')
    .action(async (opts: RunFlags) => {
      exitCode = await runRun(opts);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
