import { createHash } from 'node:crypto';
import type { TrustRecord } from '../formats/model';
import type { TvsModel } from '../trust';
import { roleOptionName } from '../cluster/roles';
import type { Plan, PlanStep } from './model';

/**
 * What an openctl TVS store must learn or forget at each step of a plan (CUCM's TVS follows its trust stores by
 * itself; `openctl tvs serve` follows its store): the `openctl tvs add` / `openctl tvs remove` commands to run, and
 * the certificate files they take, written into the step's folder. The store is named `TVS_DB` in the commands:
 * the same SQLite file or postgres:// URL that `tvs serve --db` uses.
 */

export interface TvsAddition {
  /** Relative to the plan folder, e.g. `01-regenerate-tvs/tvs-add-ccm-tftp.pem`. */
  file: string;
  roles: string[];
  certificates: Buffer[];
}

export interface TvsChanges {
  add: TvsAddition[];
  /** SHA-256 (hex) of the certificates to forget. */
  remove: string[];
  commands: string[];
}

const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/** The TVS changes of every step, in order (undefined where TVS stays as it was). */
export function planTvsChanges(plan: Plan): Array<TvsChanges | undefined> {
  const lists = (records: readonly TrustRecord[]) => records;
  const initialRecords = [plan.initial.ctl, plan.initial.itl].flatMap((h) => (h ? lists(h.list.records) : []));
  let before: TvsModel = { knows: initialRecords.filter((r) => r.certificate).map((r) => ({ certificate: r.certificate! })) };
  return plan.steps.map((step) => {
    const changes = tvsChanges(before, step, plan, initialRecords);
    before = step.tvs;
    return changes;
  });
}

function tvsChanges(before: TvsModel, step: PlanStep, plan: Plan, initialRecords: readonly TrustRecord[]): TvsChanges | undefined {
  const had = new Map(before.knows.map((k) => [sha256(k.certificate), k]));
  const has = new Map(step.tvs.knows.map((k) => [sha256(k.certificate), k]));
  const added = [...has].filter(([h]) => !had.has(h)).map(([, k]) => k);
  const removed = [...had.keys()].filter((h) => !has.has(h));
  if (added.length === 0 && removed.length === 0) return undefined;

  // Roles as the lists give them: this step's lists first, then any step's, then what phones hold now.
  const records = [
    ...step.files.flatMap((f) => (f.parsed && (f.parsed.kind === 'ctl' || f.parsed.kind === 'itl') ? f.parsed.records : [])),
    ...plan.steps.flatMap((s) => s.files.flatMap((f) => (f.parsed && (f.parsed.kind === 'ctl' || f.parsed.kind === 'itl') ? f.parsed.records : []))),
    ...initialRecords,
  ];
  const byRoles = new Map<string, Buffer[]>();
  for (const k of added) {
    const fromLists = records.filter((r) => r.certificate?.equals(k.certificate) && r.role !== undefined).map((r) => r.role!);
    const roles = [...new Set(fromLists.length ? fromLists : (k.roles ?? []))].sort((a, b) => a - b).map((r) => String(roleOptionName(r)));
    const key = (roles.length ? roles : ['app-server']).join(',');
    byRoles.set(key, [...(byRoles.get(key) ?? []), k.certificate]);
  }
  const add: TvsAddition[] = [...byRoles].map(([roles, certificates]) => ({
    file: `${step.dir}/tvs-add-${roles.replace(/,/g, '+')}.pem`,
    roles: roles.split(','),
    certificates,
  }));
  const commands = [
    ...add.map((a) => `openctl tvs add --db TVS_DB ${a.file} --roles ${a.roles.join(',')}`),
    ...(removed.length ? [`openctl tvs remove --db TVS_DB ${removed.join(' ')}`] : []),
  ];
  return { add, remove: removed, commands };
}
