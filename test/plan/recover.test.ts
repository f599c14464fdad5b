import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../helpers/run-cli';
import { vector } from '../helpers/paths';

const cert = (name: string) => vector('certs', name);

describe('openctl plan recover, and rollback ITLs named as such by show and diff', function () {
  this.timeout(60_000);
  let dir: string;
  const at = (...p: string[]) => path.join(dir, ...p);
  const cli = async (args: string[], expectCode = 0) => {
    const r = await runCliCaptured(args);
    assert.equal(r.code, expectCode, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
    return r;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-recover-'));
    for (const d of ['held', 'served', 'itl-held', 'itl-served']) fs.mkdirSync(at(d));
    // Mixed mode: phones hold a CTL of two tokens and ITLRecovery; the server now serves a CTL they reject.
    await cli(['ctl', 'build', '--out', at('held', 'CTLFile.tlv'), '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--sast', cert('itlrecovery.pem'), '--ccm-tftp', cert('ccm-tftp.pem')]);
    await cli(['ctl', 'build', '--update', at('held', 'CTLFile.tlv'), '--out', at('served', 'CTLFile.tlv'), '--signer', cert('capf.pem'), '--sast', cert('sast-b.pem'), '--i-understand-phones-will-reject']);
    // ITL only: phones hold an ITL signed by ITLRecovery; the server serves one signed by a key they do not hold.
    await cli(['itl', 'build', '--out', at('itl-held', 'ITLFile.tlv'), '--signer', cert('itlrecovery.pem'), '--ccm-tftp', cert('ccm-tftp.pem'), '--tvs', cert('tvs-ec.pem')]);
    await cli(['itl', 'build', '--out', at('itl-served', 'ITLFile.tlv'), '--signer', cert('ccm.pem'), '--ccm-tftp', cert('ccm.pem'), '--tvs', cert('tvs-ec.pem')]);
    await cli(['itl', 'build', '--out', at('rollback.tlv'), '--signer', cert('itlrecovery.pem'), '--capf', cert('capf.pem')]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('phones reject the served CTL: a held SAST token signs one they accept, and the command it gives works', async () => {
    const r = await cli(['plan', 'recover', '--phone-has', at('held', 'CTLFile.tlv'), '--serves', at('served'), '--have', cert('sast-b.pem')]);
    assert.match(r.stdout, /CTLFile\.tlv: REJECTED \[ctl-signer-not-in-held-ctl\]/);
    assert.match(r.stdout, /CTL with .*sast-b\.pem: a SAST record of the CTL phones hold/);
    assert.match(r.stdout, /result: recoverable/);
    // Follow the advice: a CTL from the held one, signed by that token.
    const next = at('next-ctl.tlv');
    await cli(['ctl', 'build', '--update', at('held', 'CTLFile.tlv'), '--signer', cert('sast-b.pem'), '--out', next]);
    await cli(['preflight', '--phone-has', at('held', 'CTLFile.tlv'), '--deploy', next]);
    // ITLRecovery is a SAST of the CTL too: it can sign ITLs those phones accept.
    const j = JSON.parse((await cli(['plan', 'recover', '--json', '--phone-has', at('held', 'CTLFile.tlv'), '--have', cert('itlrecovery.pem')])).stdout);
    assert.deepEqual(j.options.map((o: { target: string }) => o.target).sort(), ['ctl', 'itl']);
  });

  it('when nothing held signs a list phones accept, it says only deleting the trust list is left, with the steps (exit 1)', async () => {
    const r = await cli(['plan', 'recover', '--phone-has', at('held', 'CTLFile.tlv'), '--serves', at('served'), '--have', cert('capf.pem')], 1);
    assert.match(r.stdout, /Only deleting the trust list on each phone is left/);
    assert.match(r.stdout, /Reset Settings > Security Settings/);
    assert.match(r.stdout, /press \*\*# to unlock/);
    assert.match(r.stdout, /factory reset/);
    assert.match(r.stdout, /result: LOCKED OUT/);
    const j = JSON.parse((await cli(['plan', 'recover', '--json', '--phone-has', at('held', 'CTLFile.tlv'), '--have', cert('capf.pem')], 1)).stdout);
    assert.equal(j.lockedOut, true);
    // What to look for instead: the three SAST records of the CTL phones hold.
    assert.deepEqual(j.wanted.ctl.map((w: { subject: string }) => w.subject.split(',')[0]).sort(), ['CN=ITLRECOVERY_cucm-pub', 'CN=SAST-eToken-A', 'CN=SAST-eToken-B']);
  });

  it('ITL only: the ITLRecovery key recovers (and CUCM\'s utils itl reset is named); TVS vouching is an option; else locked out', async () => {
    const held = at('itl-held', 'ITLFile.tlv');
    const ok = await cli(['plan', 'recover', '--phone-has', held, '--serves', at('itl-served'), '--have', cert('itlrecovery.pem')]);
    assert.match(ok.stdout, /ITLFile\.tlv: REJECTED \[itl-signer-unknown\]/);
    assert.match(ok.stdout, /ITL with .*itlrecovery\.pem: the SAST record \(ITLRecovery\)/);
    assert.match(ok.stdout, /utils itl reset localkey/);
    const viaTvs = await cli(['plan', 'recover', '--phone-has', held, '--have', cert('ccm.pem'), '--tvs-knows', cert('ccm.pem')]);
    assert.match(viaTvs.stdout, /TVS vouches for it/);
    await cli(['plan', 'recover', '--phone-has', held, '--serves', at('itl-served'), '--have', cert('ccm.pem')], 1);
  });

  it('phones holding the rollback ITL: recover, show and diff say plainly that they accept any config and any new ITL', async () => {
    const r = await cli(['plan', 'recover', '--phone-has', at('rollback.tlv')]);
    assert.match(r.stdout, /rollback ITL .*accept any config, signed or not, and any new ITL/);
    const show = await cli(['show', at('rollback.tlv')]);
    assert.match(show.stdout, /This is a ROLLBACK ITL .*phones that hold it accept any config and any new ITL/);
    assert.equal(JSON.parse((await cli(['show', '--json', at('rollback.tlv')])).stdout).rollback, true);
    const normal = await cli(['show', at('itl-held', 'ITLFile.tlv')]);
    assert.doesNotMatch(normal.stdout, /ROLLBACK/);
    assert.equal(JSON.parse((await cli(['show', '--json', at('itl-held', 'ITLFile.tlv')])).stdout).rollback, false);
    const diff = await cli(['diff', at('itl-held', 'ITLFile.tlv'), at('rollback.tlv')]);
    assert.match(diff.stdout, /rollback\.tlv is a ROLLBACK ITL .*accept any config and any new ITL/);
    const back = await cli(['diff', '--json', at('rollback.tlv'), at('itl-held', 'ITLFile.tlv')]);
    assert.deepEqual(JSON.parse(back.stdout).rollback, { before: true, after: false, changed: true });
  });
});
