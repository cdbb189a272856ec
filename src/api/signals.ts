/** Signal names of the common 128+N exit codes, as restart records and the timeline print them. */

const NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

/** `SIGKILL` for 137 and the other common 128+N exit codes; undefined otherwise. */
export function exitSignalName(code: number): string | undefined {
  return code > 128 ? NAMES[code - 128] : undefined;
}
