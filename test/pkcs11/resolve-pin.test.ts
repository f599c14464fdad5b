import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configFilePath, knownModules, resolveModules } from '../../src/pkcs11/resolve';
import { pinEnvName, pinFromSources, readPinSource } from '../../src/pkcs11/pin';
import { ExitCode, OpenctlError, TokenError } from '../../src/util/errors';

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';

describe('pkcs11 module resolution', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-resolve-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), ...extra });

  function writeConfig(config: unknown): string {
    const file = configFilePath(env(), 'linux');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    return file;
  }

  it('takes the URI first, then --module, then OPENCTL_PKCS11_MODULE, then the config file, then known paths', () => {
    const file = writeConfig({ pkcs11: { modules: ['/from/config.so'] } });
    const all = env({ OPENCTL_PKCS11_MODULE: '/from/env1.so:/from/env2.so' });
    assert.deepEqual(resolveModules({ uriModulePath: '/from/uri.so', modules: ['/opt.so'], env: all, platform: 'linux' }).paths, ['/from/uri.so']);
    assert.deepEqual(resolveModules({ modules: ['/a.so', '/b.so'], env: all, platform: 'linux' }), { paths: ['/a.so', '/b.so'], source: 'option', origin: '--module' });
    assert.deepEqual(resolveModules({ env: all, platform: 'linux' }).paths, ['/from/env1.so', '/from/env2.so']);
    const fromConfig = resolveModules({ env: env(), platform: 'linux' });
    assert.deepEqual(fromConfig, { paths: ['/from/config.so'], source: 'config', origin: file });
    fs.rmSync(file);
    const known = resolveModules({ env: env(), platform: 'linux' });
    assert.equal(known.source, 'known');
    assert.ok(known.paths.includes(SOFTHSM), 'SoftHSM is installed here, so it is a known module');
    assert.ok(known.paths.every((p) => fs.existsSync(p)));
  });

  it('uses ; to separate OPENCTL_PKCS11_MODULE on Windows, and %APPDATA% for the config', () => {
    assert.deepEqual(resolveModules({ env: { OPENCTL_PKCS11_MODULE: 'C:\\a.dll;C:\\b.dll' }, platform: 'win32' }).paths, ['C:\\a.dll', 'C:\\b.dll']);
    assert.equal(configFilePath({ APPDATA: 'C:\\Users\\x\\AppData\\Roaming' }, 'win32'), path.join('C:\\Users\\x\\AppData\\Roaming', 'openctl', 'config.json'));
    assert.equal(configFilePath({ OPENCTL_CONFIG: '/etc/openctl.json' }, 'linux'), '/etc/openctl.json');
  });

  it('finds module-name among the known locations', () => {
    assert.deepEqual(resolveModules({ uriModuleName: 'softhsm2', env: env(), platform: 'linux' }).paths, [SOFTHSM]);
    assert.throws(() => resolveModules({ uriModuleName: 'nosuchthing', env: env(), platform: 'linux' }), (e: unknown) => e instanceof TokenError && /nosuchthing/.test(e.message));
  });

  it('reports a broken config file on one line, naming it', () => {
    const file = writeConfig('{ not json');
    assert.throws(() => resolveModules({ env: env(), platform: 'linux' }), (e: unknown) => e instanceof OpenctlError && e.message.startsWith(file) && !e.message.includes('\n'));
    writeConfig({ pkcs11: { modules: 'one.so' } });
    assert.throws(() => resolveModules({ env: env(), platform: 'linux' }), /must be an array/);
  });

  it('lists only known modules that exist, each once', () => {
    const found = knownModules('linux');
    assert.equal(new Set(found.map((p) => fs.realpathSync(p))).size, found.length);
    assert.deepEqual(knownModules('win32'), []);
  });
});

describe('PIN sources', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-pin-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the per-token variable from the label', () => {
    assert.equal(pinEnvName('eToken-A'), 'OPENCTL_PIN_ETOKEN_A');
    assert.equal(pinEnvName('My token 2'), 'OPENCTL_PIN_MY_TOKEN_2');
    assert.equal(pinEnvName('Ünï.x'), 'OPENCTL_PIN__N__X');
  });

  it('reads file: sources (absolute, file:// URL, relative to cwd), dropping one trailing newline', () => {
    const file = path.join(dir, 'pin');
    fs.writeFileSync(file, '4321\n');
    assert.equal(readPinSource(`file:${file}`), '4321');
    assert.equal(readPinSource(`file://${file}`), '4321');
    assert.equal(readPinSource('file:pin', dir), '4321');
    assert.equal(readPinSource(file), '4321');
    fs.writeFileSync(file, ' 12 34 \r\n');
    assert.equal(readPinSource(file), ' 12 34 ');
  });

  it('refuses empty, missing and non-file sources with exit 2 or 3', () => {
    const file = path.join(dir, 'empty');
    fs.writeFileSync(file, '\n');
    assert.throws(() => readPinSource(file), (e: unknown) => e instanceof TokenError && /empty/.test(e.message));
    assert.throws(() => readPinSource(path.join(dir, 'none')), (e: unknown) => e instanceof TokenError && e.exitCode === ExitCode.Token && /cannot read the PIN file: no such file/.test(e.message));
    assert.throws(() => readPinSource('|/bin/get-pin'), (e: unknown) => e instanceof OpenctlError && /only file:/.test(e.message));
    assert.throws(() => readPinSource('https://example.com/pin'), /only file:/);
  });

  it('prefers the URI pin-source, then OPENCTL_PIN_<LABEL>, then OPENCTL_PIN', () => {
    const file = path.join(dir, 'pin');
    fs.writeFileSync(file, 'from-file');
    const env = { OPENCTL_PIN_ETOKEN_A: 'per-token', OPENCTL_PIN: 'global' };
    assert.deepEqual(pinFromSources('eToken-A', { env, pinSource: `file:${file}` }), { pin: 'from-file', from: `pin-source file:${file}` });
    assert.deepEqual(pinFromSources('eToken-A', { env }), { pin: 'per-token', from: 'OPENCTL_PIN_ETOKEN_A' });
    assert.deepEqual(pinFromSources('eToken-B', { env }), { pin: 'global', from: 'OPENCTL_PIN' });
    assert.equal(pinFromSources('eToken-B', { env: { OPENCTL_PIN: '' } }), undefined);
  });
});
