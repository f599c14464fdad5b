import type { PlanProcedure } from './fields';
import type { PhoneFile, PhoneTrust, PreflightResult, TvsModel } from '../trust';

/**
 * A procedure as steps. Each step says what the admin does on CUCM and which files the phones' TFTP server serves
 * afterwards (all of them: CTL, ITL, configs, as a phone downloads them after its reset), and what TVS vouches
 * for by then. Checking a plan walks a phone through the steps with the trust model.
 */
export interface PlanStep {
  /** Folder name, e.g. `01-regenerate-tvs`. */
  dir: string;
  title: string;
  /** What to do on CUCM, in order (service restarts, phone resets). */
  actions: string[];
  /** The files the phones' TFTP server serves after this step. */
  files: PhoneFile[];
  /** TVS after this step. */
  tvs: TvsModel;
}

export interface Plan {
  procedure: PlanProcedure;
  summary: string;
  /** What phones hold before step 1 (with the names of the files they came from). */
  initial: PhoneTrust;
  steps: PlanStep[];
  /** Rules of CUCM practice the requested order breaks (each one refuses the plan). */
  violations: string[];
  notes: string[];
}

export interface CheckedStep {
  step: PlanStep;
  result: PreflightResult;
  /** Where the phone's CTL and ITL come from when this step starts: `00-now/...` or an earlier step's folder. */
  phoneHas: string[];
}

export interface PlanCheck {
  ok: boolean;
  checked: CheckedStep[];
  /** 1-based index of the first step that would lock phones out. */
  failedStep?: number;
  /** One line per reason the plan is refused. */
  refusals: string[];
}
