import * as pkcs11js from 'pkcs11js';

/** CK_RV values by name, read from pkcs11js so that vendor-independent codes stay in one place. */
const RV_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(pkcs11js as unknown as Record<string, unknown>)) {
    if (name.startsWith('CKR_') && typeof value === 'number' && !names.has(value)) names.set(value, name);
  }
  return names;
})();

const MECHANISM_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(pkcs11js as unknown as Record<string, unknown>)) {
    if (name.startsWith('CKM_') && typeof value === 'number' && !names.has(value)) names.set(value, name);
  }
  return names;
})();

export function mechanismName(mechanism: number): string {
  return MECHANISM_NAMES.get(mechanism) ?? `CKM_0x${mechanism.toString(16)}`;
}

export function rvName(rv: number): string {
  return RV_NAMES.get(rv) ?? `CKR_0x${rv.toString(16).padStart(8, '0')}`;
}

/** The CK_RV of a failed pkcs11js call, or undefined for anything that is not a PKCS#11 return code. */
export function rvOf(err: unknown): number | undefined {
  if (err instanceof pkcs11js.Pkcs11Error && typeof err.code === 'number' && err.code !== 0) return err.code;
  if (err instanceof Error && /^CKR_/.test(err.message)) {
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** A PKCS#11 call that failed: what the module said, kept for mapping to a person-readable TokenError. */
export class CryptokiError extends Error {
  constructor(
    readonly fn: string,
    readonly rv: number,
  ) {
    super(`${fn} failed: ${rvName(rv)}`);
    this.name = 'CryptokiError';
  }

  get rvName(): string {
    return rvName(this.rv);
  }
}

export function isRv(err: unknown, ...rvs: number[]): boolean {
  return err instanceof CryptokiError && rvs.includes(err.rv);
}

/** Return codes that mean the token, or the session on it, is gone. */
export const GONE_RVS: readonly number[] = [
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_SLOT_ID_INVALID,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
];
