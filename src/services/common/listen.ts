import { OpenctlError } from '../../util/errors';

/** One `--listen HOST:PORT` value. `host` undefined: every address, IPv4 and IPv6. */
export interface ListenAddress {
  host?: string;
  port: number;
}

/**
 * `HOST:PORT`, `[IPV6]:PORT`, `:PORT` or `PORT` (every address), `*:PORT`. Port 0 picks a free port.
 * `what` names the option in errors (`--listen`, `--metrics`).
 */
export function parseListen(spec: string, what = '--listen'): ListenAddress {
  const text = spec.trim();
  let host: string | undefined;
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (/^\d+$/.test(text)) {
    portText = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0 || text.indexOf(':') !== colon) {
      throw new OpenctlError(`${what} "${spec}": expected HOST:PORT, [IPV6]:PORT or PORT`);
    }
    host = text.slice(0, colon) || undefined;
    portText = text.slice(colon + 1);
  }
  if (host === '*') host = undefined;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new OpenctlError(`${what} "${spec}": the port must be 0 to 65535`);
  return { ...(host === undefined ? {} : { host }), port };
}

/** How an address is printed: `127.0.0.1:2445`, `[::1]:2445`. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
