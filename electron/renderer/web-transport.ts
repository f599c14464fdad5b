/**
 * Web mode's transport: each contract method is a POST of JSON to /api/<method>, events come over one
 * server-sent event stream. The session token comes once in the page's address (?token=...); the page keeps it
 * in its sessionStorage (bound to this origin, port included) and sends it as a header with every request.
 * Never a cookie: the browser would send a cookie of 127.0.0.1 to every other service on 127.0.0.1 too.
 * The event stream is read with fetch (EventSource cannot send a header).
 */
import { EVENT_NAMES, HTTP_API_PREFIX, HTTP_EVENTS_PATH, SESSION_HEADER, type Envelope, type EventName } from '../../src/gui/contract';
import type { Transport } from '../../src/gui/client';

const STORAGE_KEY = 'openctl-session';

/** Take the token from the address (then drop it from the address bar and history), or from this tab's storage. */
function sessionToken(): string {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem(STORAGE_KEY, fromUrl);
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem(STORAGE_KEY) ?? '';
}

export function createWebTransport(): Transport {
  const token = sessionToken();
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  let connected = false;

  const dispatchEvent = (name: string, data: string) => {
    if (!(EVENT_NAMES as readonly string[]).includes(name)) return;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    for (const listener of [...listeners]) listener(name as EventName, payload);
  };

  /** Read the text/event-stream (event: NAME / data: JSON / blank line), reconnecting after a drop. */
  const connect = async (): Promise<void> => {
    if (connected) return;
    connected = true;
    for (;;) {
      try {
        const response = await fetch(HTTP_EVENTS_PATH, { headers: { [SESSION_HEADER]: token }, cache: 'no-store' });
        if (!response.ok || !response.body) throw new Error(String(response.status));
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) name = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length) dispatchEvent(name, data.join('\n'));
          }
        }
      } catch {
        // the service stopped or restarted: try again shortly
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };

  return {
    async call(name, request): Promise<Envelope<unknown>> {
      let response: Response;
      try {
        response = await fetch(HTTP_API_PREFIX + name, {
          method: 'POST',
          credentials: 'omit',
          headers: { 'Content-Type': 'application/json', [SESSION_HEADER]: token },
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
      void connect();
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
