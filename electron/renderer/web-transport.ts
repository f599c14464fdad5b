/**
 * Web mode's transport: each contract method is a POST of JSON to /api/<method>, events come over one
 * server-sent event stream. The session travels in an HttpOnly cookie the server set when the URL was opened.
 */
import { EVENT_NAMES, HTTP_API_PREFIX, HTTP_EVENTS_PATH, type Envelope, type EventName } from '../../src/gui/contract';
import type { Transport } from '../../src/gui/client';

export function createWebTransport(): Transport {
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  let source: EventSource | undefined;

  const connect = () => {
    if (source) return;
    source = new EventSource(HTTP_EVENTS_PATH);
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (event) => {
        let payload: unknown;
        try {
          payload = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return;
        }
        for (const listener of [...listeners]) listener(name, payload);
      });
    }
  };

  return {
    async call(name, request): Promise<Envelope<unknown>> {
      let response: Response;
      try {
        response = await fetch(HTTP_API_PREFIX + name, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(request ?? {}),
        });
      } catch {
        return { ok: false, error: { message: 'the openctl service is not reachable (was it stopped?)', code: 70 } };
      }
      if (!response.ok) {
        const text = (await response.text()).trim();
        return { ok: false, error: { message: `${response.status}: ${text || response.statusText}`, code: 2 } };
      }
      return (await response.json()) as Envelope<unknown>;
    },
    subscribe(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
