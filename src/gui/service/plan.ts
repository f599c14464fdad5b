/**
 * The Rollout plan screen's side of the service: the same request reader, builder, preflight and writer as
 * `openctl plan` (src/plan), with keys given as a logged-in token or a PEM file. The plan checked last is kept
 * (one at a time) so that "Write plan" writes exactly the files whose verdicts the admin saw.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { GuiPlanRequest, PlanKey, RequestOf } from '../contract';
import type { PlanView } from '../types';
import { OpenctlError } from '../../util/errors';
import { loadPemSigner } from '../../crypto/pem-signer';
import { readCertFile } from '../../fetch/inputs';
import { renderHolding } from '../../trust';
import {
  PLAN_FIELDS,
  buildPlan,
  checkPlan,
  fileHoldsKey,
  planJson,
  writePlan,
  type Plan,
  type PlanCheck,
  type PlanInputHost,
} from '../../plan';
import type { TokenAccess } from './token-access';

interface CheckedPlan {
  id: string;
  plan: Plan;
  check: PlanCheck;
}

export class PlanService {
  private last?: CheckedPlan;

  constructor(private readonly tokens: TokenAccess) {}

  async check(request: GuiPlanRequest): Promise<PlanView> {
    this.last = undefined;
    const plan = await buildPlan(request, this.host());
    const checked = { id: randomUUID(), plan, check: checkPlan(plan) };
    this.last = checked;
    return view(checked);
  }

  async write(request: RequestOf<'planWrite'>): Promise<PlanView> {
    const checked = this.last;
    if (!checked || checked.id !== request.planId) throw new OpenctlError('this plan is no longer the one checked last: check it again before writing');
    if (!checked.check.ok) throw new OpenctlError('the plan is refused (a step would lock phones out): nothing written');
    const output = path.resolve(request.output);
    await writePlan(checked.plan, checked.check, output, { force: request.overwrite ?? false });
    return { ...view(checked), written: output };
  }

  private host(): PlanInputHost<PlanKey> {
    const tokens = this.tokens;
    return {
      cwd: process.cwd(),
      name: (field) => PLAN_FIELDS[field].label,
      describe: (key) => ('tokenId' in key ? `(token "${tokens.describe(key.tokenId)}")` : key.pem),
      openSigner: (key) => ('tokenId' in key ? tokens.signerFor(key.tokenId) : loadPemSigner(path.resolve(key.pem))),
      holdsKey: async (key) => 'tokenId' in key || fileHoldsKey(path.resolve(key.pem)),
      loadCertificate: async (key) => {
        if ('tokenId' in key) return tokens.certificateOf(key.tokenId);
        const [first] = await readCertFile(key.pem);
        if (!first) throw new OpenctlError(`${key.pem}: holds no certificate`);
        return first;
      },
    };
  }
}

function view({ id, plan, check }: CheckedPlan): PlanView {
  return {
    ...planJson(plan, check),
    planId: id,
    phonesHoldNow: renderHolding(check.checked[0]?.result.before ?? { sbd: plan.initial.sbd }),
    notChecked: plan.steps.length - check.checked.length,
  };
}
