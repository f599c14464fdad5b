import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { peculiarNameFacts, readCertificates } from '../../src/crypto/certificate';
import { readDerNameFacts } from '../../src/crypto/der-names';
import { FIXTURES } from '../helpers/paths';

/** Every certificate of the fixtures, and a few odd subjects made here with openssl. */
function fixtureCertificates(): Array<[string, Buffer]> {
  const found: Array<[string, Buffer]> = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (/\.(pem|der|p7b)$/.test(entry.name)) {
        try {
          readCertificates(fs.readFileSync(file)).forEach((der, i) => found.push([`${path.relative(FIXTURES, file)}#${i}`, der]));
        } catch {
          /* a key, not a certificate */
        }
      }
    }
  };
  visit(FIXTURES);
  return found;
}

const ODD_SUBJECTS = [
  '/CN=plain/O=Example Voice/OU=UC',
  '/CN=multi+OU=valued/O=Example',
  '/CN=Zürich café/O=Ünïcödé',
  '/emailAddress=tftp@example.net/CN=mail',
  '/CN=odd/1.2.3.4=unknown type',
  '/DC=net/DC=example/CN=dc style/serialNumber=1234/title=Dr/GN=Ann/SN=Lee/initials=AL',
  '/C=NZ/ST=Wellington/L=Wellington/CN=with, comma',
];

describe('crypto: certificate names read from the DER', () => {
  it('match @peculiar/x509 for every fixture certificate', () => {
    const certs = fixtureCertificates();
    assert.ok(certs.length >= 10, `found ${certs.length} certificates`);
    for (const [name, der] of certs) {
      const fast = readDerNameFacts(der);
      if (fast) assert.deepEqual(fast, peculiarNameFacts(der), name);
    }
  });

  it('match @peculiar/x509, or leave it the odd names (multi-valued RDN, unknown types, other string types)', function () {
    let dir: string;
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-dernames-'));
    } catch {
      this.skip();
      return;
    }
    try {
      const key = path.join(dir, 'key.pem');
      execFileSync('openssl', ['genrsa', '-out', key, '1024'], { stdio: 'ignore' });
      let fastCount = 0;
      ODD_SUBJECTS.forEach((subject, i) => {
        for (const extra of [['-utf8'], ['-utf8', '-multivalue-rdn'], ['-utf8', '-multivalue-rdn', '-set_serial', '7']]) {
          const cert = path.join(dir, `c${i}.pem`);
          execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '1', '-subj', subject, ...extra], { stdio: 'ignore' });
          const der = readCertificates(fs.readFileSync(cert))[0];
          const fast = readDerNameFacts(der);
          if (fast) {
            fastCount += 1;
            assert.deepEqual(fast, peculiarNameFacts(der), `${subject} ${extra.join(' ')}`);
          }
        }
      });
      assert.ok(fastCount > 0, 'the common subjects take the fast path');
      const multi = path.join(dir, 'multi.pem');
      execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', multi, '-days', '1', '-subj', '/CN=a+OU=b', '-multivalue-rdn'], { stdio: 'ignore' });
      assert.equal(readDerNameFacts(readCertificates(fs.readFileSync(multi))[0]), undefined, 'a multi-valued RDN falls back');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
