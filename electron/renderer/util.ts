import type { FileSource } from '../../src/gui/contract';
import type { CertView } from '../../src/gui/types';

/** A dropped or uploaded file as the service reads it: its name and its bytes in base64. */
export async function fileToSource(file: File): Promise<FileSource> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return { name: file.name, base64: btoa(binary) };
}

export function sourceName(source: FileSource): string {
  return 'path' in source ? source.path : source.name;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function shortDate(iso: string): string {
  return iso.slice(0, 10);
}

export function expiryText(cert: Pick<CertView, 'expiry' | 'notAfter' | 'daysLeft'>): string {
  if (cert.expiry === 'expired') return `expired ${shortDate(cert.notAfter)}`;
  if (cert.expiry === 'soon') return `expires in ${cert.daysLeft} days (${shortDate(cert.notAfter)})`;
  return `valid until ${shortDate(cert.notAfter)}`;
}

/** The CN of a DN, for compact display; the full DN stays available as a title/description. */
export function commonName(dn: string | undefined): string {
  if (!dn) return '';
  const m = /(?:^|[,;])\s*CN=("?)([^,;"]*)\1/i.exec(dn);
  return m ? m[2]! : dn;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : m > 0 ? `${m} min ${String(rest).padStart(2, '0')} s` : `${rest} s`;
}

export const ROLE_CHOICES: ReadonlyArray<{ value: number; label: string }> = [
  { value: 0, label: 'SAST' },
  { value: 1, label: 'CCM' },
  { value: 2, label: 'CCM+TFTP' },
  { value: 3, label: 'TFTP' },
  { value: 4, label: 'CAPF' },
  { value: 21, label: 'TVS' },
  { value: 7, label: 'APP-SERVER' },
];

export function roleLabel(role: number): string {
  return ROLE_CHOICES.find((r) => r.value === role)?.label ?? String(role);
}

let counter = 0;
/** Unique ids for label/input pairs. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** The folder part of a path typed on the service's machine (either separator). */
export function folderOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i > 0 ? file.slice(0, i) : '';
}

export function joinPath(dir: string, name: string, platform?: string): string {
  return `${dir.replace(/[\\/]$/, '')}${platform === 'win32' ? '\\' : '/'}${name}`;
}

/** Lines of a text area, trimmed, empty ones dropped. */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}
