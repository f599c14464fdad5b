import type { RegisterCommand } from '../context';

/**
 * Every CLI command, in the order `--help` lists them. A command module exports one `register` function;
 * add it here with one line.
 */
export const commands: RegisterCommand[] = [];
