import { Role } from '../formats/model';

/** The role names of the CLI options and the cluster file, and their record functions. */
export const ROLE_BY_NAME: Readonly<Record<string, number>> = {
  sast: Role.SAST,
  ccm: Role.CCM,
  'ccm-tftp': Role.CCM_TFTP,
  tftp: Role.TFTP,
  capf: Role.CAPF,
  tvs: Role.TVS,
  'app-server': Role.APP_SERVER,
};

export function roleOptionName(role: number): string | number {
  const found = Object.entries(ROLE_BY_NAME).find(([, value]) => value === role);
  return found ? found[0] : role;
}
