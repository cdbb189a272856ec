/**
 * The set-up channel of a launched wrapper, as a file (`<bundle>/setup`, fd 3 of the wrapper):
 * the wrapper's last shell writes `OK` just before it exec's the container's command, or a
 * failure code (`E <code>`, see `parseSetup`) and exits. A file rather than a pipe, so that no
 * process depends on a reader that may be gone (podvisor may die while a container starts) and
 * a later podvisor process can still read how a start ended.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** How often the channel is read when no inotify watch can be had. */
const POLL_MS = 20;

/** File name of the set-up channel inside a bundle. */
export const SETUP_FILE = 'setup';

/** True when the channel's text says the command is being exec'd. */
export function setupSucceeded(text: string): boolean {
  return /(^|\n)OK\n/.test(text);
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Watches the channel (inotify on the bundle directory: event-driven, no polling) until it says
 * `OK`, or until `exited` settles (the wrapper ended before: `ok` is then whatever the file
 * says, e.g. a command that ran and ended at once). Start it before the wrapper can write.
 */
export function watchSetup(bundle: string, exited: Promise<unknown>): Promise<{ ok: boolean; text: string }> {
  const file = path.join(bundle, SETUP_FILE);
  return new Promise((resolve) => {
    let done = false;
    let watcher: fs.FSWatcher | undefined;
    let poll: NodeJS.Timeout | undefined;
    const finish = (ok: boolean, text: string): void => {
      if (done) return;
      done = true;
      watcher?.close();
      if (poll) clearInterval(poll);
      resolve({ ok, text });
    };
    const check = (): void => {
      if (done) return;
      const text = readText(file);
      if (setupSucceeded(text)) finish(true, text);
    };
    try {
      watcher = fs.watch(bundle, { persistent: false }, (_event, name) => {
        if (name === null || name === SETUP_FILE) check();
      });
      watcher.on('error', () => undefined);
    } catch {
      // No inotify watch (the bundle vanished, or the watch limit is reached): read it every
      // 20 ms instead, so that a start is never reported only at the container's exit.
      poll = setInterval(check, POLL_MS);
      poll.unref();
    }
    check();
    void exited.then(() => {
      const text = readText(file);
      finish(setupSucceeded(text), text);
    });
  });
}
