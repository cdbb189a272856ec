/**
 * The `podvisor` command line: the composition root.
 */
import { Command, CommanderError } from 'commander';

/** Runs the CLI with the given arguments (without `node` and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('podvisor')
    .description('Run Kubernetes Pods on one machine with Kubernetes 1.36 restart semantics')
    .version('0.1.0')
    .exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
