/**
 * How a runtime runs a command in one instance's context: the {@link ExecPlan} each runtime
 * builds (host: env, working dir, mount namespace, cgroup; sandbox: `nsenter` into the pod's and
 * the container's namespaces; oci: `runc exec`), shared by the probe exec
 * (`ContainerRuntime.exec`, output collected: {@link runExecPlan}, here) and the streaming exec
 * (`execStream`, `kubectl exec [-i] [-t]`: `startExecStream` in exec-stream.ts).
 */
import { runExec, watchChild, type SetupFailure } from './proc-util.js';
import type { ExecResult } from './types.js';

/** Why an exec did not start, as its wrapper tells it (runc's error log). */
export interface ExecFailure {
  /** 127: the command was not found; 126: it could not be run (not executable, bad working dir, …). */
  exitCode: 126 | 127;
  /** What a shell would print (`exec: "x": executable file not found in $PATH`). */
  message: string;
}

/**
 * How a runtime runs a command in one instance's context: built by one function per runtime,
 * used by both the probe exec ({@link runExecPlan}) and the streaming exec
 * (`startExecStream`, exec-stream.ts).
 */
export interface ExecPlan {
  /** The wrapper's argv: ends by exec'ing the command in the container's context. */
  argv: string[];
  /** The wrapper's environment (on host and sandbox: the container's, which the command keeps). */
  env: Record<string, string>;
  /** The command's first word and the working dir, for set-up failure messages. */
  cmd: string;
  workingDir: string;
  /**
   * Reads the set-up failure the wrapper's last shell reported on fd 3 (`parseSetup`); absent
   * when the wrapper reports none there (runc).
   */
  parseSetup?: (text: string) => SetupFailure | undefined;
  /**
   * A wrapper that tells its own start failure after the exit (runc): `read` says it (or
   * undefined: the command ran), and output that begins with `prefix` (the wrapper's own words
   * on the command's stderr) is held back until then and dropped when it was the failure.
   */
  wrapperFailure?: { prefix: string; read: () => ExecFailure | undefined };
  /** Exit codes 128 + n of the wrapper mean "signal n killed the command" (runc, script). */
  signalledByCode?: boolean;
  /**
   * The exec'd command's host PID once known (runc's `--pid-file`; it leads its own session).
   * When it has ended while the wrapper still runs, what is left in its session is killed: runc
   * in the foreground ends only once the command's output pipes (or its terminal) are closed by
   * every process holding them.
   */
  commandPid?: () => number | undefined;
  /**
   * With `tty`: the wrapper makes the container's terminal itself and proxies script's (`runc
   * exec -t`): script's pty is set raw, without echo, before it starts (the container's pty
   * echoes and edits lines).
   */
  ownTerminal?: boolean;
  /**
   * With `tty`: the shell in the container's context writes the ready line on fd 4 (it is the
   * last step before the command, in its final session), rather than script's command shell.
   */
  readyInContext?: boolean;
  /** Probe exec only: after its main process exited (its process group `pgid`), e.g. kills leftovers no cgroup catches. */
  afterProbe?: (pgid: number) => Promise<void>;
  /** Removes what the plan made (files) once the exec is over. Never rejects. */
  cleanup?: () => Promise<void>;
}

/**
 * The probe exec: runs the plan's wrapper with {@link runExec} (combined output up to 10 KiB,
 * SIGKILL of the process group at the timeout, 127/126 for set-up failures), then applies the
 * wrapper's own failure report and cleans up. Never throws.
 */
export async function runExecPlan(plan: ExecPlan, timeoutMs: number): Promise<ExecResult> {
  try {
    const r = await runExec(plan.argv, plan.env, { timeoutMs, cmd: plan.cmd, workingDir: plan.workingDir }, {
      watch: watchChild,
      parseSetup: plan.parseSetup ?? (() => undefined),
      ...(plan.afterProbe ? { afterExit: plan.afterProbe } : {}),
    });
    const failure = r.timedOut || r.exitCode === 0 ? undefined : plan.wrapperFailure?.read();
    return failure ? { exitCode: failure.exitCode, output: failure.message, timedOut: false } : r;
  } finally {
    await plan.cleanup?.();
  }
}
