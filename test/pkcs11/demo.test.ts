import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { defaultDemoDir } from '../../src/pkcs11/provision';
import { TokenService } from '../../src/gui/service/tokens';
import { EventHub } from '../../src/gui/events';
import { readTokenCertificate } from '../../src/pkcs11/signer';
import { SOFTHSM_MODULE, unloadSoftHsm } from '../helpers/softhsm';
import { REPO_ROOT } from '../helpers/paths';
import { runCliProcess } from '../helpers/run-cli';

const run = promisify(execFile);

describe('npm run tokens:demo', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-demo-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes eToken-A and eToken-B with self-signed SAST certificates, and prints the SOFTHSM2_CONF', async () => {
    const env = { ...process.env };
    delete env.SOFTHSM2_CONF;
    const first = await run(process.execPath, [path.join(REPO_ROOT, 'softhsm-config', 'tokens-demo.js'), '--dir', dir], { env });
    const conf = path.join(dir, 'softhsm2.conf');
    assert.ok(first.stdout.includes(`export SOFTHSM2_CONF=${conf}`), first.stdout);
    assert.match(first.stdout, /eToken-A {2}serial [0-9a-f]+ {2}created/);
    assert.match(fs.readFileSync(conf, 'utf8'), new RegExp(`^directories.tokendir = ${path.join(dir, 'tokens')}$`, 'm'));

    const listed = await runCliProcess(['tokens', '--json', '--module', '/usr/lib/softhsm/libsofthsm2.so'], { env: { SOFTHSM2_CONF: conf } });
    assert.equal(listed.code, 0, listed.stderr);
    const slots = JSON.parse(listed.stdout).modules[0].slots as Array<{ token: { label: string }; objects: Array<{ id: string; label: string; keyBits: number; certificate: { subject: string; issuer: string } }> }>;
    assert.deepEqual(slots.map((s) => s.token.label).sort(), ['eToken-A', 'eToken-B']);
    for (const slot of slots) {
      const [pair] = slot.objects;
      assert.deepEqual([pair.id, pair.label, pair.keyBits], ['01', 'SAST', 2048]);
      assert.equal(pair.certificate.subject, `CN=SAST-${slot.token.label},OU=IPCBU,O=openctl demo,C=US`);
      assert.equal(pair.certificate.issuer, pair.certificate.subject);
    }

    // Each certificate is signed by its own token key (made through C_Sign).
    const previous = process.env.SOFTHSM2_CONF;
    unloadSoftHsm();
    process.env.SOFTHSM2_CONF = conf;
    try {
      for (const label of ['eToken-A', 'eToken-B']) {
        const cert = new X509Certificate(await readTokenCertificate(`pkcs11:token=${label}`, { modules: [SOFTHSM_MODULE], env: {} }));
        assert.ok(cert.verify(cert.publicKey), label);
      }
    } finally {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
    }
    const again = await run(process.execPath, [path.join(REPO_ROOT, 'softhsm-config', 'tokens-demo.js'), '--dir', dir], { env });
    assert.match(again.stdout, /eToken-A {2}serial [0-9a-f]+ {2}already there, left as it was/);
  });

  it('the GUI\'s "Use demo tokens" makes them where tokens:demo looks, and tokens:demo then leaves them as they are', async () => {
    const data = path.join(dir, 'data');
    const empty = path.join(dir, 'empty-tokens');
    fs.mkdirSync(empty);
    const emptyConf = path.join(dir, 'empty.conf');
    fs.writeFileSync(emptyConf, `directories.tokendir = ${empty}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, OPENCTL_DATA_DIR: data, SOFTHSM2_CONF: emptyConf, OPENCTL_PKCS11_MODULE: SOFTHSM_MODULE };
    const previous = process.env.SOFTHSM2_CONF;
    unloadSoftHsm();
    const service = new TokenService({ events: new EventHub(), dataDir: data, env });
    let state;
    try {
      await service.start();
      state = await service.useDemoTokens();
    } finally {
      await service.close();
      unloadSoftHsm();
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
    }
    assert.equal(state.dir, path.join(data, 'softhsm'));
    assert.equal(state.dir, defaultDemoDir(env));
    assert.deepEqual(state.cli?.[0], `export SOFTHSM2_CONF=${path.join(data, 'softhsm', 'softhsm2.conf')}`);
    const scriptEnv = { ...env };
    delete scriptEnv.SOFTHSM2_CONF;
    const r = await run(process.execPath, [path.join(REPO_ROOT, 'softhsm-config', 'tokens-demo.js')], { env: scriptEnv });
    assert.match(r.stdout, new RegExp(`^Demo tokens in ${path.join(data, 'softhsm').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'));
    assert.match(r.stdout, /eToken-A {2}serial [0-9a-f]+ {2}already there, left as it was/);
    assert.match(r.stdout, /eToken-B {2}serial [0-9a-f]+ {2}already there, left as it was/);
    assert.ok(r.stdout.includes(state.cli![0]!), 'both say the same SOFTHSM2_CONF');
  });

  it('puts the tokens in the user\'s data folder by default', () => {
    assert.equal(defaultDemoDir({ HOME: '/home/a', OPENCTL_DATA_DIR: '/srv/openctl' }, 'linux'), '/srv/openctl/softhsm');
    assert.equal(defaultDemoDir({ HOME: '/home/a', XDG_DATA_HOME: '/data' }, 'linux'), '/data/openctl/softhsm');
    assert.equal(defaultDemoDir({ HOME: '/home/a' }, 'linux'), '/home/a/.local/share/openctl/softhsm');
    assert.equal(defaultDemoDir({ HOME: '/Users/a' }, 'darwin'), '/Users/a/Library/Application Support/openctl/softhsm');
    assert.equal(defaultDemoDir({ HOME: 'C:\\Users\\a', LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'win32'), path.join('C:\\Users\\a\\AppData\\Local', 'openctl', 'softhsm'));
  });
});
