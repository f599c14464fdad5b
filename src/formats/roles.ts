import { OpenctlError } from '../util/errors';
import { Role } from './model';

/** Record functions (tag 4): short names as openctl prints them, descriptions as CUCM's `show ctl` does. */

const NAMES: ReadonlyMap<number, string> = new Map([
  [Role.SAST, 'SAST'],
  [Role.CCM, 'CCM'],
  [Role.CCM_TFTP, 'CCM+TFTP'],
  [Role.TFTP, 'TFTP'],
  [Role.CAPF, 'CAPF'],
  [Role.APP_SERVER, 'APP-SERVER'],
  [Role.TVS, 'TVS'],
]);

/** CUCM spells out only the SAST function; the others read as their short names. */
const DESCRIPTIONS: ReadonlyMap<number, string> = new Map([...NAMES, [Role.SAST, 'System Administrator Security Token']]);

/** 'SAST', 'CCM+TFTP'... or the number itself for functions openctl does not know (kept, never rejected). */
export function roleName(role: number): string {
  return NAMES.get(role) ?? String(role);
}

/** The FUNCTION column of CUCM's `show ctl`, e.g. "System Administrator Security Token". */
export function roleDescription(role: number): string {
  return DESCRIPTIONS.get(role) ?? String(role);
}

/** Accepts the names above in any case, `_` or `-` for `+` (`ccm-tftp`), spelled-out descriptions, or a number. */
export function parseRoleName(name: string): number {
  const wanted = name.trim().toUpperCase();
  if (/^\d+$/.test(wanted) && Number(wanted) <= 0xffff) return Number(wanted);
  const squash = (s: string) => s.toUpperCase().replace(/[-_+ ]/g, '');
  for (const [role, known] of NAMES) if (squash(known) === squash(wanted)) return role;
  for (const [role, known] of DESCRIPTIONS) if (known.toUpperCase() === wanted) return role;
  throw new OpenctlError(
    `unknown record function '${name}' (expected ${[...NAMES.values()].join(', ')} or a number 0-65535)`,
  );
}
