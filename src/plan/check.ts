import { preflight, type PhoneTrust } from '../trust';
import type { CheckedStep, Plan, PlanCheck } from './model';

/** The folder that holds what phones hold before step 1. */
export const INITIAL_DIR = '00-now';

/**
 * Walk a phone through every step: at each one it holds what the previous steps left it, downloads everything
 * the TFTP server then serves, and asks the TVS of that moment. The plan is refused at the first step where
 * the phone would reject a file, and for any rule of CUCM practice the order breaks.
 */
export function checkPlan(plan: Plan, options: { now?: Date } = {}): PlanCheck {
  const checked: CheckedStep[] = [];
  const refusals = [...plan.violations];
  let phone: PhoneTrust = plan.initial;
  const held: { ctl?: string; itl?: string } = {
    ...(phone.ctl ? { ctl: `${INITIAL_DIR}/${phone.ctl.name}` } : {}),
    ...(phone.itl ? { itl: `${INITIAL_DIR}/${phone.itl.name}` } : {}),
  };
  let failedStep: number | undefined;
  for (const [i, step] of plan.steps.entries()) {
    const phoneHas = [held.ctl, held.itl].filter((x): x is string => !!x);
    const result = preflight(phone, step.files, step.tvs, options);
    checked.push({ step, result, phoneHas });
    if (!result.ok) {
      failedStep = i + 1;
      const bad = result.verdicts.filter((v) => v.verdict === 'rejected');
      refusals.push(
        `step ${i + 1} (${step.title}) would lock phones out: ${bad.map((v) => `${v.name} rejected [${v.rule}]: ${v.reason}`).join('; ')}`,
      );
      break;
    }
    for (const v of result.verdicts) {
      if (v.kind === 'ctl' || v.kind === 'itl') held[v.kind] = `${step.dir}/${v.name}`;
    }
    phone = result.phone;
  }
  return { ok: refusals.length === 0, checked, refusals, ...(failedStep ? { failedStep } : {}) };
}
