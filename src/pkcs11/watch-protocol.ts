import type { SlotDescription, TokenDescription } from './tokens';

/** Parent -> watcher child. */
export interface WatchStart {
  type: 'start';
  modules: string[];
  intervalMs: number;
}

/** Child -> parent. */
export type WatchMessage =
  | { type: 'ready'; slots: SlotDescription[] }
  | { type: 'event'; event: TokenEvent }
  | { type: 'module-error'; module: string; message: string };

/** A token arrived in, or left, a slot. */
export interface TokenEvent {
  type: 'inserted' | 'removed';
  module: string;
  slotId: number;
  token: TokenDescription;
  /** ISO time the watcher noticed it. */
  time: string;
}
