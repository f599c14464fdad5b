import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { TokenError } from '../util/errors';
import type { SlotDescription } from './tokens';
import type { TokenEvent, WatchMessage, WatchStart } from './watch-protocol';

export type { TokenEvent } from './watch-protocol';

export interface TokenWatcherOptions {
  /** Module paths to watch. */
  modules: readonly string[];
  /** The child's environment (SOFTHSM2_CONF and the like); default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Poll period; events reach listeners within about this long (default 250 ms). */
  intervalMs?: number;
}

export interface TokenWatcher {
  on(event: 'token', listener: (event: TokenEvent) => void): this;
  on(event: 'module-error', listener: (module: string, message: string) => void): this;
  /** The child died: no more events will come. */
  on(event: 'stopped', listener: (reason: string) => void): this;
}

/**
 * Insert/remove events from a child process that polls the modules (PC/SC is not used: the poll works for
 * every module, hardware or software, and needs no native binding). The parent's own module instances, and
 * the logins and handles on them, are never touched.
 */
export class TokenWatcher extends EventEmitter {
  private closed = false;

  private constructor(
    private readonly child: ChildProcess,
    /** The tokens present when the watch started. */
    readonly initial: SlotDescription[],
  ) {
    super();
    child.on('message', (message: WatchMessage) => {
      if (message.type === 'event') this.emit('token', message.event);
      else if (message.type === 'module-error') this.emit('module-error', message.module, message.message);
    });
    child.on('exit', (code, signal) => {
      if (!this.closed) this.emit('stopped', `the token watcher stopped (${signal ?? `exit ${code}`})`);
    });
  }

  static start(options: TokenWatcherOptions): Promise<TokenWatcher> {
    const child = fork(path.join(__dirname, 'watch-child.js'), [], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    return new Promise((resolve, reject) => {
      const moduleErrors: Array<[string, string]> = [];
      const onMessage = (message: WatchMessage) => {
        if (message.type === 'module-error') moduleErrors.push([message.module, message.message]);
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        const watcher = new TokenWatcher(child, message.slots);
        // Module failures seen before `ready` are replayed once a listener can hear them.
        setImmediate(() => moduleErrors.forEach(([m, e]) => watcher.emit('module-error', m, e)));
        resolve(watcher);
      };
      const onExit = (code: number | null) => {
        reject(new TokenError(`the token watcher failed to start (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      const start: WatchStart = { type: 'start', modules: [...options.modules], intervalMs: options.intervalMs ?? 250 };
      child.send(start);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners('token');
    if (this.child.connected) this.child.disconnect();
    this.child.kill();
  }
}
