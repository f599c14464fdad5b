import type { RegisterCommand } from '../context';

/**
 * Every CLI command module, in the order `--help` lists them, with the top-level command names it registers.
 * Modules load lazily: `openctl show` must not pay for PKCS#11, the GUI server or the pipeline at start-up
 * (a 1,000-record `show` has a 200 ms budget end to end). Add a module with one line.
 */
export interface CommandModule {
  names: readonly string[];
  load: () => RegisterCommand;
}

export const commandModules: readonly CommandModule[] = [
  { names: ['show'], load: () => require('./show').register },
  { names: ['verify'], load: () => require('./verify').register },
  { names: ['ctl', 'itl'], load: () => require('./build').register },
  { names: ['sign', 'unsign'], load: () => require('./sign').register },
  { names: ['encrypt', 'decrypt'], load: () => require('./encrypt').register },
  { names: ['certhash'], load: () => require('./certhash').register },
  { names: ['tokens'], load: () => require('./tokens').register },
  { names: ['batch'], load: () => require('./batch').register },
  { names: ['preflight'], load: () => require('./preflight').register },
  { names: ['diff'], load: () => require('./diff').register },
  { names: ['fetch'], load: () => require('./fetch').register },
  { names: ['plan'], load: () => require('./plan').register },
  { names: ['gui'], load: () => require('./gui').register },
  { names: ['tvs'], load: () => require('./tvs').register },
  { names: ['capf'], load: () => require('./capf').register },
];

/** The modules needed to run `argv`: only the named command's, or all of them for help and unknown names. */
export function modulesFor(argv: readonly string[]): CommandModule[] {
  const name = argv.find((a) => !a.startsWith('-'));
  const match = commandModules.find((m) => name !== undefined && m.names.includes(name));
  return match ? [match] : [...commandModules];
}
