/** The colour class of a STATUS text (kubectl's column) or a phase; the text is always shown too. */

export type StatusKind = 'running' | 'succeeded' | 'failed' | 'pending' | 'restarting' | 'terminating' | 'unknown';

const FAILED = /^(Failed|Error|CrashLoopBackOff|OOMKilled|Evicted|DeadlineExceeded|ContainerCannotRun|StartError|ExitCode:.*)$|Err|BackOff|Fail|Invalid|OOM/;

export function statusKind(text: string, phase?: string): StatusKind {
  const t = text.trim();
  if (t === 'Running') return 'running';
  if (t === 'Completed' || t === 'Succeeded') return 'succeeded';
  if (t === 'Terminating') return 'terminating';
  if (t.startsWith('Restarting')) return 'restarting';
  if (FAILED.test(t)) return 'failed';
  if (t === 'Pending' || t === 'ContainerCreating' || t === 'PodInitializing' || t.startsWith('Init:') || t === 'Waiting') return 'pending';
  switch (phase) {
    case 'Running': return 'running';
    case 'Succeeded': return 'succeeded';
    case 'Failed': return 'failed';
    case 'Pending': return 'pending';
    default: return 'unknown';
  }
}

/** The restart count at the start of a RESTARTS cell (`3 (12s ago)` → 3). */
export function restartCount(cell: string): number {
  const n = Number.parseInt(cell, 10);
  return Number.isNaN(n) ? 0 : n;
}

/** `restarts-some` (> 0) and `restarts-many` (≥ 5). */
export function restartClass(n: number): string {
  return n >= 5 ? 'restarts-some restarts-many' : n > 0 ? 'restarts-some' : 'restarts-none';
}
