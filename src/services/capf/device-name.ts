import { OpenctlError } from '../../util/errors';

const DEVICE = /^SEP([0-9A-F]{12})$/i;

/** `SEP<12 hex>`, upper-cased (phones send it upper-case); undefined for anything else. */
export function normalizeDeviceName(name: string): string | undefined {
  const m = DEVICE.exec(name);
  return m ? `SEP${m[1].toUpperCase()}` : undefined;
}

export function requireDeviceName(name: string, where = 'device'): string {
  const n = normalizeDeviceName(name.trim());
  if (!n) throw new OpenctlError(`${where} ${JSON.stringify(name)}: a device is SEP followed by its 12-hex-digit MAC, e.g. SEP0011223344BB`);
  return n;
}
