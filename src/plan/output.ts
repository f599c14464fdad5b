import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OpenctlError } from '../util/errors';
import { syncDirectory } from '../util/atomic-write';
import { renderHolding, renderVerdict, type TvsModel } from '../trust';
import { INITIAL_DIR } from './check';
import type { Plan, PlanCheck } from './model';
import type { PlanJson } from './plan-json';
import { planTvsChanges } from './tvs-changes';

export type { PlanJson } from './plan-json';

function pem(ders: readonly Buffer[]): string {
  return ders
    .map((d) => `-----BEGIN CERTIFICATE-----\n${d.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`)
    .join('');
}

export function planJson(plan: Plan, check: PlanCheck): PlanJson {
  const tvsChanges = planTvsChanges(plan);
  return {
    procedure: plan.procedure,
    summary: plan.summary,
    ok: check.ok,
    refusals: check.refusals,
    notes: plan.notes,
    initial: [plan.initial.ctl, plan.initial.itl].filter((x) => !!x).map((h) => `${INITIAL_DIR}/${h!.name}`),
    steps: check.checked.map(({ step, result, phoneHas }, i) => ({
      dir: step.dir,
      title: step.title,
      actions: step.actions,
      files: step.files.map((f) => `${step.dir}/${f.name}`),
      phoneHas,
      ...(step.tvs.knows.length ? { tvsKnows: `${step.dir}/tvs-knows.pem` } : {}),
      ...(step.tvs.serviceCertificates?.length ? { tvsCert: `${step.dir}/tvs-service.pem` } : {}),
      ...(tvsChanges[i] ? { tvsStore: tvsChanges[i]!.commands } : {}),
      sbd: plan.initial.sbd,
      ok: result.ok,
      verdicts: result.verdicts,
    })),
  };
}

export function renderPlan(plan: Plan, check: PlanCheck, outDir?: string): string {
  const tvsChanges = planTvsChanges(plan);
  const lines = [`plan: ${plan.summary}`, `phones hold now: ${renderHolding(check.checked[0]?.result.before ?? { sbd: plan.initial.sbd })}`];
  for (const [i, { step, result, phoneHas }] of check.checked.entries()) {
    lines.push('', `step ${i + 1}: ${step.title}${outDir ? `  -> ${path.join(outDir, step.dir)}` : ''}`);
    step.actions.forEach((a, j) => lines.push(`  ${j + 1}. ${a}`));
    lines.push(`  the TFTP server then serves: ${step.files.map((f) => f.name).join(', ')}`);
    lines.push(`  ${tvsLine(step.tvs)}`);
    for (const command of tvsChanges[i]?.commands ?? []) lines.push(`  openctl TVS store (TVS_DB: what tvs serve --db uses): ${command}`);
    lines.push(`  preflight, phones holding ${phoneHas.length ? phoneHas.join(' + ') : 'nothing'}:`);
    result.verdicts.forEach((v) => lines.push(...renderVerdict(v, undefined, '    ')));
  }
  const notRun = plan.steps.length - check.checked.length;
  if (notRun > 0) lines.push('', `(${notRun} later step${notRun === 1 ? '' : 's'} not checked)`);
  if (plan.notes.length) lines.push('', ...plan.notes.map((n) => `note: ${n}`));
  lines.push('');
  if (check.ok) lines.push(`result: every step passes preflight${outDir ? `; written to ${outDir}` : ''}`);
  else lines.push(...check.refusals.map((r) => `REFUSED: ${r}`), 'nothing written');
  return lines.join('\n');
}

function tvsLine(tvs: TvsModel): string {
  return `TVS then vouches for ${tvs.knows.length} certificate${tvs.knows.length === 1 ? '' : 's'}${
    tvs.serviceCertificates?.length ? `, presenting ${tvs.serviceCertificates.length} TVS certificate${tvs.serviceCertificates.length === 1 ? '' : 's'}` : ''
  }`;
}

/**
 * Write the plan folder in one piece: built next to `outDir` under a temporary name, then renamed, so that a
 * folder named `outDir` is always a whole plan. `force` replaces an earlier plan folder (one with plan.json).
 */
export async function writePlan(plan: Plan, check: PlanCheck, outDir: string, options: { force?: boolean } = {}): Promise<void> {
  if (!check.ok) throw new OpenctlError(`${outDir}: the plan is refused; nothing written`);
  const existing = await fs.lstat(outDir).catch(() => undefined);
  if (existing) {
    const isPlan = existing.isDirectory() && (await fs.lstat(path.join(outDir, 'plan.json')).catch(() => undefined));
    if (!options.force) throw new OpenctlError(`${outDir}: already exists (use --force to replace an earlier plan)`);
    if (!isPlan) throw new OpenctlError(`${outDir}: exists and is not a plan folder (no plan.json): not replacing it`);
  }
  const parent = path.dirname(path.resolve(outDir));
  const tmp = path.join(parent, `.openctl-tmp-${path.basename(outDir)}.${randomBytes(6).toString('hex')}`);
  try {
    await fs.mkdir(tmp, { recursive: false });
    const write = async (rel: string, data: Buffer | string) => {
      const file = path.join(tmp, rel);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, data);
    };
    for (const h of [plan.initial.ctl, plan.initial.itl]) if (h) await write(path.join(INITIAL_DIR, h.name), h.list.bytes);
    const tvsChanges = planTvsChanges(plan);
    for (const [i, { step, result }] of check.checked.entries()) {
      for (const f of step.files) await write(path.join(step.dir, f.name), f.bytes);
      for (const a of tvsChanges[i]?.add ?? []) await write(a.file, pem(a.certificates));
      if (step.tvs.knows.length) await write(path.join(step.dir, 'tvs-knows.pem'), pem(step.tvs.knows.map((k) => k.certificate)));
      if (step.tvs.serviceCertificates?.length) await write(path.join(step.dir, 'tvs-service.pem'), pem(step.tvs.serviceCertificates));
      const tvsStore = tvsChanges[i]?.commands.map((c) => `openctl TVS store (TVS_DB: what tvs serve --db uses): ${c}`) ?? [];
      const text = [step.title, '', ...step.actions.map((a, j) => `${j + 1}. ${a}`), ...(tvsStore.length ? ['', ...tvsStore] : []), '', 'preflight:', ...result.verdicts.flatMap((v) => renderVerdict(v, undefined, '  '))];
      await write(path.join(step.dir, 'STEP.txt'), `${text.join('\n')}\n`);
    }
    await write('plan.json', `${JSON.stringify(planJson(plan, check), null, 2)}\n`);
    await write('PLAN.txt', `${renderPlan(plan, check, outDir)}\n`);
    if (existing) await fs.rm(outDir, { recursive: true, force: true });
    await fs.rename(tmp, outDir);
    await syncDirectory(parent);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof OpenctlError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new OpenctlError(`${outDir}: cannot write the plan: ${code ?? (err as Error).message}`);
  }
}
