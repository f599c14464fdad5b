/**
 * The TVS and CAPF screens' side of the service: their stores through the store's own classes (src/store/tvs.ts,
 * src/store/capf.ts, opened and migrated as `openctl tvs|capf` open them), and a running server's status from its
 * `--metrics` endpoint (`/health` and `/metrics`). The GUI never serves TVS or CAPF itself.
 */
import * as http from 'node:http';
import { roleName } from '../../formats';
import { openServiceStore, StoreError } from '../../store';
import { TVS_MIGRATIONS, TTL_DEFAULT, TvsStore } from '../../store/tvs';
import { CapfStore, type CapfDevice } from '../../store/capf';
import { CAPF_MIGRATIONS } from '../../store/capf-migrations';
import { requireDeviceName } from '../../services/capf/device-name';
import { deviceSummary } from '../../services/capf/device-view';
import { DEFAULT_KEY_SPEC, formatKeySpec, parseKeySpec } from '../../services/capf/key-spec';
import { OpenctlError } from '../../util/errors';
import type { RequestOf } from '../contract';
import type { CapfDeviceView, ServiceStatusView, TvsChangeView, TvsListView } from '../types';
import { certView } from './certs';
import { readSource } from './files';
import { TvsAddition } from '../../services/tvs/addition';

async function withStore<S extends { db: { close(): Promise<void> } }, T>(open: () => Promise<S>, fn: (store: S) => Promise<T>): Promise<T> {
  let store: S;
  try {
    store = await open();
  } catch (err) {
    if (err instanceof StoreError) throw new OpenctlError(err.message);
    throw err;
  }
  try {
    return await fn(store);
  } finally {
    await store.db.close();
  }
}

const tvsStore = <T>(db: string, fn: (store: TvsStore) => Promise<T>) =>
  withStore(async () => new TvsStore(await openServiceStore(db, [TVS_MIGRATIONS], { busyBudgetMs: 10_000 })), fn);
const capfStore = <T>(db: string, fn: (store: CapfStore) => Promise<T>) =>
  withStore(async () => new CapfStore(await openServiceStore(db, [CAPF_MIGRATIONS], { busyBudgetMs: 10_000 })), fn);

export async function tvsList(request: RequestOf<'tvsList'>): Promise<TvsListView> {
  return tvsStore(request.db, async (store) => ({
    certificates: (await store.list()).map((e) => {
      let expiry: TvsListView['certificates'][number]['certificate'];
      try {
        expiry = certView(e.certificate);
      } catch {
        expiry = undefined;
      }
      return { sha256: e.sha256, subject: e.subject, issuer: e.issuer, serial: e.serial, roles: e.roles.map(roleName), roleNumbers: e.roles, ttl: e.ttl, addedAt: e.addedAt, updatedAt: e.updatedAt, certificate: expiry };
    }),
  }));
}

/**
 * `openctl tvs add`: certificates from files (with the roles chosen), certificates fetched over TLS and confirmed,
 * or every record of a CTL or ITL with its own role; adding one again updates its roles and TTL.
 */
export async function tvsAdd(request: RequestOf<'tvsAdd'>): Promise<TvsChangeView> {
  const ttl = request.ttl ?? TTL_DEFAULT;
  const addition = new TvsAddition(ttl);
  const skipped: string[] = [];
  if ((request.files?.length || request.certificates?.length) && !request.roles?.length) throw new OpenctlError('choose the roles TVS vouches for these certificates in');
  for (const file of request.files ?? []) {
    const { name, bytes } = await readSource(file);
    addition.addFile(bytes, request.roles!, name);
  }
  for (const b64 of request.certificates ?? []) addition.add(Buffer.from(b64, 'base64'), request.roles!, 'the fetched certificate');
  for (const list of request.fromLists ?? []) {
    const { name, bytes } = await readSource(list);
    skipped.push(...addition.addList(bytes, name).skipped);
  }
  if (addition.size === 0) throw new OpenctlError('nothing to add: no certificate found');
  return tvsStore(request.db, async (store) => {
    const { added, updated } = await store.put(addition.entries());
    return { added: added.length, updated: updated.length, removed: 0, skipped };
  });
}

export async function tvsRemove(request: RequestOf<'tvsRemove'>): Promise<TvsChangeView> {
  return tvsStore(request.db, async (store) => {
    let removed = 0;
    const unknown: string[] = [];
    for (const hash of request.sha256) {
      if (await store.remove(hash)) removed += 1;
      else unknown.push(hash);
    }
    return { added: 0, updated: 0, removed, skipped: unknown.map((h) => `${h}: not in the store`) };
  });
}

function capfView(d: CapfDevice): CapfDeviceView {
  return deviceSummary(d);
}

export async function capfList(request: RequestOf<'capfList'>): Promise<CapfDeviceView[]> {
  return capfStore(request.db, async (store) => (await store.listDevices()).map(capfView));
}

/** `openctl capf device add` (authentication none or mic; a password is set with the CLI, which reads it from a file). */
export async function capfAdd(request: RequestOf<'capfAdd'>): Promise<CapfDeviceView[]> {
  const names = request.devices.map((n) => requireDeviceName(n));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new OpenctlError(`capf device add: ${duplicate} is named twice`);
  const keySpec = formatKeySpec(parseKeySpec(request.key ?? DEFAULT_KEY_SPEC, 'key'));
  return capfStore(request.db, async (store) => {
    const existing = await store.addDevices(
      names.map((name) => ({ name, operation: request.operation, auth: request.auth, keySpec, passwordHash: null })),
      { replace: false },
    );
    if (existing.length > 0) throw new OpenctlError(`${existing.length} device(s) exist already (${existing.slice(0, 5).join(', ')}): change them instead`);
    return (await store.listDevices()).map(capfView);
  });
}

/** `openctl capf device set`: only what is named changes (operation, authentication, unlock). */
export async function capfSet(request: RequestOf<'capfSet'>): Promise<CapfDeviceView[]> {
  const names = request.devices.map((n) => requireDeviceName(n));
  const fields = { operation: request.operation, auth: request.auth, unlock: request.unlock };
  if (Object.values(fields).every((v) => v === undefined)) throw new OpenctlError('nothing to change');
  return capfStore(request.db, async (store) => {
    const missing = await store.setDevices(names, fields);
    if (missing.length > 0) throw new OpenctlError(`no such device: ${missing.join(', ')} (nothing changed)`);
    return (await store.listDevices()).map(capfView);
  });
}

export async function capfRemove(request: RequestOf<'capfRemove'>): Promise<CapfDeviceView[]> {
  return capfStore(request.db, async (store) => {
    const missing = await store.removeDevices(request.devices.map((n) => requireDeviceName(n)));
    if (missing.length > 0) throw new OpenctlError(`no such device: ${missing.join(', ')}`);
    return (await store.listDevices()).map(capfView);
  });
}

const STATUS_TIMEOUT_MS = 3000;

function get(url: URL): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: STATUS_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 1_000_000) body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${STATUS_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
  });
}

/**
 * A running `openctl tvs|capf serve --metrics HOST:PORT`: its health check (200 or 503 with the reason) and the
 * service's own counters from /metrics (Prometheus text: `openctl_<service>_…` samples).
 */
export async function serviceStatus(request: RequestOf<'serviceStatus'>): Promise<ServiceStatusView> {
  let base: URL;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(request.url) && !/^http:\/\//i.test(request.url)) throw new Error('scheme');
    base = new URL(/^http:\/\//i.test(request.url) ? request.url : `http://${request.url}`);
  } catch {
    throw new OpenctlError(`${request.url}: not a metrics address (HOST:PORT, as given to --metrics)`);
  }
  if (base.protocol !== 'http:') throw new OpenctlError(`${request.url}: the metrics endpoint is plain HTTP (--metrics HOST:PORT)`);
  const where = `http://${base.host}`;
  try {
    const health = await get(new URL('/health', base));
    let detail: Record<string, unknown> = {};
    try {
      detail = JSON.parse(health.body) as Record<string, unknown>;
    } catch {
      detail = { answer: health.body.slice(0, 200) };
    }
    const metrics = await get(new URL('/metrics', base)).catch(() => undefined);
    const prefix = `openctl_${request.service}_`;
    const samples = (metrics?.body ?? '')
      .split('\n')
      // The service's own samples: not the process and Node.js defaults, not histogram buckets.
      .filter((line) => line.startsWith(prefix) && !/^openctl_\w+?_(process|nodejs)_/.test(line) && !line.includes('_bucket{'))
      .map((line) => {
        const at = line.lastIndexOf(' ');
        return { name: line.slice(0, at), value: Number(line.slice(at + 1)) };
      })
      .filter((s) => Number.isFinite(s.value));
    return { url: where, reachable: true, healthy: health.status === 200, health: detail, samples };
  } catch (err) {
    return { url: where, reachable: false, healthy: false, health: {}, samples: [], problem: (err as Error).message };
  }
}
