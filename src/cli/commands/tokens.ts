import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { log, out, printJson } from '../io';
import { listTokens, type ModuleListing, type SlotListing } from '../../pkcs11/list';
import { resolveModules } from '../../pkcs11/resolve';
import { setPkcs11Trace } from '../../pkcs11/trace';
import { flagWords, type ObjectPair } from '../../pkcs11/tokens';
import { TokenWatcher, type TokenEvent } from '../../pkcs11/watch';
import { formatPkcs11Uri } from '../../pkcs11/uri';
import { ExitCode } from '../../util/errors';

interface TokensOptions {
  module: string[];
  json?: boolean;
  watch?: boolean;
  all?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('tokens')
    .description('list PKCS#11 slots, tokens and their certificate/key pairs; --watch prints insert/remove events')
    .option('--module <path>', 'PKCS#11 module to load (repeatable; default: OPENCTL_PKCS11_MODULE, the config file, then the known eToken/IDPrime/OpenSC/SoftHSM locations)', collect, [])
    .option('--json', 'print JSON (with --watch: one JSON object per line)')
    .option('--watch', 'keep running and print tokens as they are inserted and removed (Ctrl-C to stop)')
    .option('--all', 'also list empty slots and uninitialised tokens')
    .action(async (opts: TokensOptions) => {
      const debug = program.opts<{ debug?: boolean }>().debug;
      if (debug) setPkcs11Trace((line) => log(ctx.io, line));
      try {
        const listings = await listTokens({ modules: opts.module, env: ctx.io.env, presentOnly: !opts.all });
        const shown = listings.map((l) => ({ ...l, slots: opts.all ? l.slots : l.slots.filter((s) => s.token?.flags.initialized) }));
        for (const l of shown) if (l.error) log(ctx.io, `openctl: warning: ${l.error}`);
        if (opts.watch) return await watch(ctx, opts, shown);
        if (opts.json) printJson(ctx.io, { modules: shown });
        else printListing(ctx, shown);
      } finally {
        if (debug) setPkcs11Trace(undefined);
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function printListing(ctx: CliContext, listings: ModuleListing[]): void {
  let tokens = 0;
  for (const listing of listings) {
    if (!listing.module) continue;
    const m = listing.module;
    out(ctx.io, `${listing.path}  (${m.manufacturer} ${m.description} ${m.version})`);
    if (listing.slots.length === 0) out(ctx.io, '  no token');
    for (const slot of listing.slots) {
      tokens += slot.token ? 1 : 0;
      printSlot(ctx, slot);
    }
  }
  if (tokens === 0) log(ctx.io, 'openctl: no token present');
}

function printSlot(ctx: CliContext, slot: SlotListing): void {
  const token = slot.token;
  if (!token) {
    out(ctx.io, `  slot ${slot.slotId}  ${slot.description}: empty`);
    return;
  }
  const words = flagWords(token.flags);
  out(ctx.io, `  slot ${slot.slotId}  token "${token.label}"  serial ${token.serial}  ${token.manufacturer} ${token.model}${words.length ? `  [${words.join(', ')}]` : ''}`);
  out(ctx.io, `    ${formatPkcs11Uri({ token: token.label, serial: token.serial })}`);
  if (slot.objectsError) out(ctx.io, `    objects: ${slot.objectsError}`);
  if (slot.objects && slot.objects.length === 0) out(ctx.io, '    no certificate or key');
  for (const pair of slot.objects ?? []) out(ctx.io, `    ${describePair(pair)}`);
}

function describePair(pair: ObjectPair): string {
  const key = pair.keyType ? `${pair.keyType}${pair.keyBits ? ` ${pair.keyBits}` : ''}` : 'key ?';
  const privateKey = pair.privateKey === null ? (pair.publicKey ? 'private key: after login' : 'private key: ?') : pair.privateKey ? 'private key' : 'no private key';
  const cert = pair.certificate ? pair.certificate.subject : 'no certificate';
  return `id ${pair.id || '(empty)'}  "${pair.label}"  ${key}  ${cert}  (${privateKey})`;
}

function eventLine(event: TokenEvent): string {
  return `${event.type} "${event.token.label}" (serial ${event.token.serial}) in slot ${event.slotId} of ${path.basename(event.module)}`;
}

async function watch(ctx: CliContext, opts: TokensOptions, listings: ModuleListing[]): Promise<void> {
  const modules = listings.filter((l) => l.module).map((l) => l.path);
  if (modules.length === 0) modules.push(...resolveModules({ modules: opts.module, env: ctx.io.env }).paths);
  // Same environment as the modules loaded by this process (SOFTHSM2_CONF and the like).
  const watcher = await TokenWatcher.start({ modules, env: process.env });
  try {
    for (const slot of watcher.initial) {
      if (!slot.token) continue;
      const present: TokenEvent = { type: 'inserted', module: slot.module, slotId: slot.slotId, token: slot.token, time: new Date().toISOString() };
      if (opts.json) out(ctx.io, JSON.stringify({ ...present, type: 'present' }));
      else out(ctx.io, `present "${slot.token.label}" (serial ${slot.token.serial}) in slot ${slot.slotId} of ${path.basename(slot.module)}`);
    }
    if (!opts.json) log(ctx.io, 'openctl: watching for tokens (Ctrl-C to stop)');
    await new Promise<void>((resolve) => {
      watcher.on('token', (event) => out(ctx.io, opts.json ? JSON.stringify(event) : eventLine(event)));
      watcher.on('module-error', (module, message) => log(ctx.io, `openctl: warning: ${module}: ${message}`));
      watcher.on('stopped', (reason) => {
        log(ctx.io, `openctl: ${reason}`);
        ctx.setExitCode(ExitCode.Token);
        resolve();
      });
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    watcher.close();
  }
}
