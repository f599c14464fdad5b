/**
 * The token watcher's child process. It owns its own copy of each module, so it may re-initialise software
 * modules (SoftHSM only sees tokens made by another process after C_Initialize) without touching the
 * parent's logins and handles, and a slow or blocking module call never stalls the parent's event loop.
 */
import { acquireModule, type Pkcs11Module } from './registry';
import { describeSlots, type SlotDescription } from './tokens';
import type { TokenEvent, WatchMessage, WatchStart } from './watch-protocol';

interface Watched {
  path: string;
  module?: Pkcs11Module;
  /** Hardware slots report insertions themselves; a module without removable slots needs re-initialising. */
  reinit: boolean;
  failed: boolean;
}

function send(message: WatchMessage): void {
  if (process.send && process.connected) process.send(message);
}

function tokenKey(slot: SlotDescription): string {
  return `${slot.module}\u0000${slot.slotId}\u0000${slot.token?.serial}\u0000${slot.token?.label}`;
}

function poll(watched: Watched[]): SlotDescription[] {
  const slots: SlotDescription[] = [];
  for (const w of watched) {
    if (w.failed) continue;
    try {
      if (!w.module) w.module = acquireModule(w.path);
      else if (w.reinit) w.module.refresh();
      const found = describeSlots(w.module, { tokenPresent: true });
      w.reinit = !found.some((s) => s.removable);
      slots.push(...found.filter((s) => s.token?.flags.initialized));
    } catch (err) {
      w.failed = true;
      send({ type: 'module-error', module: w.path, message: (err as Error).message.split('\n')[0] });
    }
  }
  return slots;
}

function start(message: WatchStart): void {
  const watched: Watched[] = message.modules.map((path) => ({ path, reinit: true, failed: false }));
  let known = new Map<string, SlotDescription>();
  for (const slot of poll(watched)) known.set(tokenKey(slot), slot);
  send({ type: 'ready', slots: [...known.values()] });
  const timer = setInterval(() => {
    const now = new Map<string, SlotDescription>();
    for (const slot of poll(watched)) now.set(tokenKey(slot), slot);
    const time = new Date().toISOString();
    const events: TokenEvent[] = [];
    for (const [key, slot] of known) {
      if (!now.has(key)) events.push({ type: 'removed', module: slot.module, slotId: slot.slotId, token: slot.token!, time });
    }
    for (const [key, slot] of now) {
      if (!known.has(key)) events.push({ type: 'inserted', module: slot.module, slotId: slot.slotId, token: slot.token!, time });
    }
    known = now;
    for (const event of events) send({ type: 'event', event });
  }, message.intervalMs);
  process.on('disconnect', () => {
    clearInterval(timer);
    process.exit(0);
  });
}

process.once('message', (message: WatchStart) => {
  if (message?.type === 'start') start(message);
});
process.on('disconnect', () => process.exit(0));
