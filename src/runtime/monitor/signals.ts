/** Signal names from exit statuses. */
import * as os from 'node:os';

const BY_NUMBER = new Map<number, NodeJS.Signals>(
  Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/** The signal name of number `n` (`9` → `SIGKILL`), if it is one. */
export function signalName(n: number): NodeJS.Signals | undefined {
  return BY_NUMBER.get(n);
}

/**
 * The signal behind an exit status of 128 + n, as monitors and inits report a death by signal
 * (conmon, catatonit, tini, shells). A command that itself exits with such a code is reported
 * the same way, as the kubelet and Docker do.
 */
export function signalOfExitCode(code: number): NodeJS.Signals | undefined {
  return code > 128 && code < 128 + 65 ? signalName(code - 128) : undefined;
}
