import { strict as assert } from 'node:assert';
import { formatDn, parseDn, parseRoleName, roleDescription, roleName, sameDn } from '../../src/formats';
import { OpenctlError } from '../../src/util/errors';

describe('formats: distinguished names', () => {
  it('reads the comma form, attributes in order', () => {
    assert.deepEqual(parseDn('CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ'), [
      ['CN', 'SAST-eToken-A'],
      ['O', 'Example Voice'],
      ['OU', 'UC Security'],
      ['L', 'Wellington'],
      ['C', 'NZ'],
    ]);
  });

  it("reads CUCM's semicolon form, with commas inside values", () => {
    assert.deepEqual(parseDn('CN=cucm;OU=UC;O=Cisco Systems, Inc.;L=San Jose;ST=CA;C=US'), [
      ['CN', 'cucm'],
      ['OU', 'UC'],
      ['O', 'Cisco Systems, Inc.'],
      ['L', 'San Jose'],
      ['ST', 'CA'],
      ['C', 'US'],
    ]);
  });

  it('reads an eToken name: lowercase types, quotes, the closing quote missing', () => {
    assert.deepEqual(parseDn('cn="SAST-ADN008580ef ";ou=IPCBU;o="Cisco Systems'), [
      ['CN', 'SAST-ADN008580ef '],
      ['OU', 'IPCBU'],
      ['O', 'Cisco Systems'],
    ]);
  });

  it('reads RFC 4514 escapes, OIDs and aliases', () => {
    assert.deepEqual(parseDn('CN=a\\,b,2.5.4.10=Org,emailAddress=x@y,S=Otago,CN=Zo\\C3\\AB'), [
      ['CN', 'a,b'],
      ['O', 'Org'],
      ['E', 'x@y'],
      ['ST', 'Otago'],
      ['CN', 'Zoë'],
    ]);
  });

  it('keeps an unescaped comma inside a comma-form value with the value it belongs to', () => {
    assert.deepEqual(parseDn('CN=x,O=Cisco Systems, Inc.,C=US'), [
      ['CN', 'x'],
      ['O', 'Cisco Systems, Inc.'],
      ['C', 'US'],
    ]);
  });

  it('writes the comma form in the given order and the CUCM form as CN, OU, O, L, ST, C, then the rest', () => {
    const attrs: Array<[string, string]> = [['C', 'NZ'], ['E', 'a@b'], ['CN', 'x'], ['O', 'Org'], ['ST', 'Otago'], ['OU', 'UC'], ['L', 'Dunedin']];
    assert.equal(formatDn(attrs, 'comma'), 'C=NZ,E=a@b,CN=x,O=Org,ST=Otago,OU=UC,L=Dunedin');
    assert.equal(formatDn(attrs, 'cucm'), 'CN=x;OU=UC;O=Org;L=Dunedin;ST=Otago;C=NZ;E=a@b');
  });

  it('quotes values that hold separators, and reads them back', () => {
    const attrs: Array<[string, string]> = [['CN', 'a;b'], ['O', 'Example Voice, Inc.'], ['OU', 'say "hi"\\'], ['L', ' pad ']];
    for (const style of ['comma', 'cucm'] as const) {
      const dn = formatDn(attrs, style);
      assert.deepEqual(parseDn(dn).sort(), [...attrs].sort(), dn);
    }
    assert.equal(formatDn(attrs, 'comma'), 'CN="a;b",O="Example Voice, Inc.",OU="say \\"hi\\"\\\\",L=" pad "');
  });

  it('matches names by attribute set, not spelling', () => {
    assert.ok(sameDn('CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ', 'CN=SAST-eToken-A;OU=UC Security;O=Example Voice;L=Wellington;C=NZ'));
    assert.ok(sameDn('cn="cucm";o=example  voice', 'CN=CUCM,O=Example Voice'));
    assert.ok(!sameDn('CN=a,O=b', 'CN=a,O=b,OU=c'));
    assert.ok(!sameDn('CN=a,O=b', 'CN=a,OU=b'));
    assert.ok(!sameDn('CN=cucm-sub1.example.net,O=Example Voice,OU=UC', 'CN=bucm-sub1.example.net,O=Example Voice,OU=UC'));
  });
});

describe('formats: record functions', () => {
  it('names every known function as openctl and CUCM do', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 7, 21, 99].map(roleName), ['SAST', 'CCM', 'CCM+TFTP', 'TFTP', 'CAPF', 'APP-SERVER', 'TVS', '99']);
    assert.equal(roleDescription(0), 'System Administrator Security Token');
    assert.equal(roleDescription(2), 'CCM+TFTP');
    assert.equal(roleDescription(42), '42');
  });

  it('parses names in any usual spelling, and numbers', () => {
    assert.deepEqual(['sast', 'CCM', 'ccm-tftp', 'CCM+TFTP', 'ccm_tftp', 'tftp', 'capf', 'app-server', 'APP_SERVER', 'tvs', '99', 'System Administrator Security Token'].map(parseRoleName), [0, 1, 2, 2, 2, 3, 4, 7, 7, 21, 99, 0]);
    assert.throws(() => parseRoleName('phone'), (e: unknown) => e instanceof OpenctlError && /unknown record function 'phone'/.test(e.message));
    assert.throws(() => parseRoleName('70000'), OpenctlError);
  });
});
