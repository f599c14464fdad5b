import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GuiService } from '../../src/gui/service';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';

describe('gui token service: a second log-in, a half-deleted token (real SoftHSM tokens)', function () {
  this.timeout(120_000);
  let hsm: SoftHsmFixture;
  let service: GuiService;
  let dataDir: string;

  before(async () => {
    hsm = await createSoftHsm({ tokens: [{ label: 'eToken-L', keyBits: 2048, subject: 'CN=SAST-eToken-L' }] });
    hsm.activate();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-login-twice-'));
    service = new GuiService({ mode: 'web', version: 'test', dataDir, env: { ...hsm.env(), OPENCTL_PKCS11_MODULE: hsm.modulePath } });
    await service.start();
  });
  after(async () => {
    await service?.close();
    hsm?.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a second log-in with a wrong PIN is not reported as a PIN accepted: it says the token is already logged in', async () => {
    const snapshot = await service.listTokens();
    const token = snapshot.tokens.find((t) => t.label === 'eToken-L');
    assert.ok(token, JSON.stringify(snapshot));
    const wrongFirst = await service.login({ tokenId: token.id, pin: '0000' });
    assert.equal(wrongFirst.loggedIn, false, wrongFirst.message);
    const first = await service.login({ tokenId: token.id, pin: hsm.pin });
    assert.equal(first.loggedIn, true, first.message);
    assert.equal(first.message, 'Logged in to eToken-L');
    const again = await service.login({ tokenId: token.id, pin: 'definitely-wrong' });
    assert.equal(again.loggedIn, true);
    assert.equal(again.message, 'token eToken-L is already logged in: the PIN was not checked (log out first to log in again)');
    // After logging out, the PIN is checked again.
    await service.logout({ tokenId: token.id });
    const wrongAfter = await service.login({ tokenId: token.id, pin: 'definitely-wrong' });
    assert.equal(wrongAfter.loggedIn, false, wrongAfter.message);
  });

  it('a token folder left behind by a delete cut short (lock files only) is not listed and raises no problem', async () => {
    const conf = fs.readFileSync(hsm.conf, 'utf8');
    const tokenDir = /directories\.tokendir\s*=\s*(.*)/.exec(conf)![1].trim();
    const leftover = path.join(tokenDir, 'cut-short-delete');
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, 'token.lock'), '');
    fs.writeFileSync(path.join(leftover, '3f1c.lock'), '');
    try {
      // The watcher re-reads the module; several snapshots, so that at least one is taken after the folder appeared.
      for (let i = 0; i < 3; i += 1) {
        const snapshot = await service.listTokens();
        assert.equal(snapshot.problem, undefined);
        assert.deepEqual(snapshot.tokens.map((t) => t.label), ['eToken-L']);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      fs.rmSync(leftover, { recursive: true, force: true });
    }
  });
});
