import type { RegisterCommand } from '../context';
import { register as show } from './show';
import { register as verify } from './verify';
import { register as build } from './build';
import { register as sign } from './sign';
import { register as encrypt } from './encrypt';
import { register as certhash } from './certhash';

/**
 * Every CLI command, in the order `--help` lists them. A command module exports one `register` function;
 * add it here with one line.
 */
export const commands: RegisterCommand[] = [show, verify, build, sign, encrypt, certhash];
