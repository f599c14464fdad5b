import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EVENT_NAMES, IPC_EVENT_CHANNEL, IPC_PREFIX, METHOD_NAMES, methods, type GuiApi } from '../../src/gui/contract';
import { createClient, GuiCallError, type Transport } from '../../src/gui/client';
import { dispatch } from '../../src/gui/dispatch';
import { registerIpcHandlers, eventMessage, type InvokeEventLike } from '../../src/gui/ipc';
import { createIpcTransport } from '../../src/gui/ipc-renderer';
import { s, ValidationError } from '../../src/gui/schema';
import { GuiService } from '../../src/gui/service';
import { REPO_ROOT, vector } from '../helpers/paths';

describe('gui: the one contract and the transports generated from it', () => {
  let dataDir: string;
  let service: GuiService;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-contract-'));
    // Not started: these tests use no token, so no module is loaded.
    service = new GuiService({ mode: 'web', version: 'test', dataDir, env: { OPENCTL_PKCS11_MODULE: path.join(dataDir, 'none.so') } });
  });

  after(async () => {
    await service.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('declares every method once, each with a request validator, and the service implements them all', () => {
    assert.ok(METHOD_NAMES.length >= 20);
    for (const name of METHOD_NAMES) {
      assert.equal(typeof methods[name].request.parse, 'function', name);
      assert.equal(typeof (service as unknown as Record<string, unknown>)[name], 'function', `GuiService.${name}`);
    }
    assert.deepEqual([...EVENT_NAMES].sort(), ['batch', 'tokens']);
  });

  it('validates requests: unknown fields, wrong types and missing fields are refused with their JSON path', () => {
    const schema = s.object({ a: s.string({ min: 1 }), b: s.optional(s.integer({ min: 0 })), c: s.array(s.literal('x', 'y'), { max: 2 }) });
    assert.deepEqual(schema.parse({ a: 'v', c: ['x'] }), { a: 'v', c: ['x'] });
    const problem = (value: unknown) => {
      try {
        schema.parse(value);
      } catch (err) {
        assert.ok(err instanceof ValidationError);
        return err.message;
      }
      return 'accepted';
    };
    assert.equal(problem({ a: 'v', c: [], extra: 1 }), 'extra: unknown field');
    assert.equal(problem({ c: [] }), 'a: is required');
    assert.equal(problem({ a: '', c: [] }), 'a: must not be empty');
    assert.equal(problem({ a: 'v', b: -1, c: [] }), 'b: must be between 0 and 9007199254740991');
    assert.equal(problem({ a: 'v', c: ['z'] }), 'c[0]: expected one of "x", "y"');
    assert.equal(problem({ a: 'v', c: ['x', 'x', 'x'] }), 'c: more than 2 items');
    assert.equal(problem([1]), 'request: expected an object, got an array');
    // The contract's own file source: a path, or a name with bytes.
    assert.doesNotThrow(() => methods.inspect.request.parse({ file: { path: '/x' } }));
    assert.doesNotThrow(() => methods.inspect.request.parse({ file: { name: 'x.tlv', base64: 'AAAA' } }));
    assert.throws(() => methods.inspect.request.parse({ file: { path: '/x', base64: 'AA' } }), ValidationError);
  });

  it('dispatches through the service: values, one-line errors with the CLI exit code, never a stack', async () => {
    const ok = await dispatch(service, 'inspect', { file: { path: vector('ITLFile-sha1.tlv') } });
    assert.ok(ok.ok);
    assert.equal((ok.value as { kind: string }).kind, 'itl');
    const bad = await dispatch(service, 'inspect', { file: { path: vector('configs/Ringlist.xml') } });
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 2);
    assert.match(bad.error.message, /Ringlist\.xml: at byte \d+: /);
    assert.doesNotMatch(bad.error.message, /\n|at .*\.js:\d+/);
    const token = await dispatch(service, 'login', { tokenId: 'nope', pin: 'x' });
    assert.ok(!token.ok);
    assert.equal(token.error.code, 3, 'token problems carry exit code 3');
  });

  it('generates the renderer client from the contract, over any transport', async () => {
    const calls: string[] = [];
    const transport: Transport = {
      call: (name, request) => {
        calls.push(name);
        return dispatch(service, name, request);
      },
      subscribe: () => () => undefined,
    };
    const client = createClient(transport);
    for (const name of METHOD_NAMES) assert.equal(typeof client[name], 'function', name);
    const report = await client.inspect({ file: { name: 'CTLFile.tlv', base64: fs.readFileSync(vector('CTLFile-sha512.tlv')).toString('base64') } });
    assert.equal(report.verdict.valid, true);
    assert.equal(report.file, 'CTLFile.tlv');
    await assert.rejects(client.inspect({ file: { path: '/no/such' } }), (err: unknown) => err instanceof GuiCallError && err.code === 2 && err.message === '/no/such: cannot read: no such file');
    assert.deepEqual(calls, ['inspect', 'inspect']);
  });

  it('registers one IPC handler per method; refuses senders other than the app page; preload transport reaches them', async () => {
    // Electron cannot run here: a Map stands in for ipcMain/ipcRenderer, wired exactly as Electron routes them.
    const handlers = new Map<string, (event: InvokeEventLike, request: unknown) => Promise<unknown>>();
    const ipcMain = {
      handle: (channel: string, listener: (event: InvokeEventLike, request: unknown) => Promise<unknown>) => {
        assert.ok(!handlers.has(channel), `one handler per channel: ${channel}`);
        handlers.set(channel, listener);
      },
      removeHandler: (channel: string) => handlers.delete(channel),
    };
    const trusted = (event: InvokeEventLike) => event.senderFrame?.url.startsWith('app://openctl/') ?? false;
    const remove = registerIpcHandlers(ipcMain, service, trusted);
    assert.deepEqual([...handlers.keys()].sort(), METHOD_NAMES.map((n) => IPC_PREFIX + n).sort());

    const evil = await handlers.get(`${IPC_PREFIX}appInfo`)!({ senderFrame: { url: 'https://evil.example/' } }, {});
    assert.deepEqual(evil, { ok: false, error: { message: 'refused: the request did not come from the openctl window', code: 2 } });
    const noFrame = await handlers.get(`${IPC_PREFIX}appInfo`)!({ senderFrame: null }, {});
    assert.equal((noFrame as { ok: boolean }).ok, false);

    let eventListener: ((event: unknown, message: unknown) => void) | undefined;
    const ipcRenderer = {
      invoke: (channel: string, request: unknown) => handlers.get(channel)!({ senderFrame: { url: 'app://openctl/index.html' } }, request),
      on: (channel: string, listener: (event: unknown, message: unknown) => void) => {
        assert.equal(channel, IPC_EVENT_CHANNEL);
        eventListener = listener;
      },
      removeListener: () => (eventListener = undefined),
    };
    const client = createClient(createIpcTransport(ipcRenderer));
    const info = await client.appInfo({});
    assert.equal(info.mode, 'web');
    const seen: number[] = [];
    const off = client.on('tokens', (snapshot) => seen.push(snapshot.revision));
    eventListener!({}, eventMessage('tokens', { tokens: [], emptySlots: 0, modules: [], revision: 7 }));
    eventListener!({}, { name: 'not-an-event', payload: {} });
    off();
    assert.equal(eventListener, undefined);
    assert.deepEqual(seen, [7]);
    remove();
    assert.equal(handlers.size, 0);
  });

  it('keeps Electron out of src/: nothing there imports it', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts') && /from ['"]electron['"]|require\(['"]electron['"]\)/.test(fs.readFileSync(file, 'utf8'))) offenders.push(file);
      }
    };
    walk(path.join(REPO_ROOT, 'src'));
    assert.deepEqual(offenders, []);
  });

  it('types the service as the contract\'s API (a compile-time check that runs as this assignment)', () => {
    const api: GuiApi = service;
    assert.equal(api, service);
  });
});
