/** Types only (the GUI renderer imports them): the plan as `plan.json` and `openctl plan --json` give it. */
import type { FileVerdict } from '../trust/verdict';
import type { PlanProcedure } from './fields';

/** The machine-readable plan (`plan.json`): enough to re-run every step's preflight with the CLI. */
export interface PlanJson {
  procedure: PlanProcedure;
  summary: string;
  ok: boolean;
  refusals: string[];
  notes: string[];
  initial: string[];
  steps: Array<{
    dir: string;
    title: string;
    actions: string[];
    files: string[];
    /** The CTL/ITL phones hold when the step starts, relative to the plan folder. */
    phoneHas: string[];
    tvsKnows?: string;
    tvsCert?: string;
    /** For an openctl TVS: the `openctl tvs add` / `openctl tvs remove` commands this step needs (TVS_DB: the store). */
    tvsStore?: string[];
    sbd: boolean;
    ok: boolean;
    verdicts: FileVerdict[];
  }>;
}
