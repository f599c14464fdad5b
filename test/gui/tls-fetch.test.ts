import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { fetchTlsCertificates } from '../../src/gui/service/certs';
import { readCertificates } from '../../src/crypto/certificate';
import { vector } from '../helpers/paths';

describe('gui: certificate fetch over TLS (Cluster screen)', () => {
  it('returns the certificate a TLS server presents, as the file holds it', async () => {
    const bundle = fs.readFileSync(vector('certs/ccm-tftp.pem'), 'utf8');
    const server = tls.createServer({ key: bundle, cert: bundle }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const chain = await fetchTlsCertificates('127.0.0.1', (server.address() as AddressInfo).port);
      assert.equal(chain.length, 1, 'a self-signed certificate is its own chain');
      const expected = readCertificates(Buffer.from(bundle))[0]!;
      assert.equal(chain[0]!.der, expected.toString('base64'));
      assert.match(chain[0]!.subject, /CN=cucm-pub\.example\.net/);
    } finally {
      server.close();
    }
  });

  it('names the host and port when nothing listens there', async () => {
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    await assert.rejects(fetchTlsCertificates('127.0.0.1', port), { message: `127.0.0.1:${port}: connection refused` });
  });

  it('reports a server that does not speak TLS', async () => {
    const plain = net.createServer((socket) => socket.end('HTTP/1.0 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as AddressInfo).port;
    try {
      await assert.rejects(fetchTlsCertificates('127.0.0.1', port), (err: Error) => err.message.startsWith(`127.0.0.1:${port}: `));
    } finally {
      plain.close();
    }
  });
});
