import type { EventName } from './contract';
import type { GuiEvents } from './types';

export type HubListener = <E extends EventName>(name: E, payload: GuiEvents[E]) => void;

/** The service's outgoing events; each transport (IPC, SSE) subscribes once per window or stream. */
export class EventHub {
  private readonly listeners = new Set<HubListener>();

  emit<E extends EventName>(name: E, payload: GuiEvents[E]): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(name, payload);
      } catch {
        // A closed window or stream must not stop the others from hearing the event.
      }
    }
  }

  subscribe(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get size(): number {
    return this.listeners.size;
  }
}
