import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { HttpFetchError, TftpError, httpGet, tftpGet } from '../../src/fetch';
import { Opcode, decodePacket, encodeData, encodeOack } from '../../src/fetch/tftp-packets';
import { runCliCaptured } from '../helpers/run-cli';

const HOST = '127.0.0.1';

/** Fails the test instead of hanging it: the bug these tests guard against is a download that never ends. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * A TFTP server that answers every read request from a transfer socket of its own (as RFC 1350 servers do)
 * and then misbehaves as told on every packet the client sends to that socket.
 */
async function misbehavingTftp(onClientPacket: (transfer: dgram.Socket, client: dgram.RemoteInfo, packet: ReturnType<typeof decodePacket>) => void): Promise<{ port: number; close: () => void }> {
  const listener = dgram.createSocket('udp4');
  const transfers: dgram.Socket[] = [];
  listener.on('message', (msg, rinfo) => {
    const request = decodePacket(msg);
    const transfer = dgram.createSocket('udp4');
    transfers.push(transfer);
    transfer.on('message', (m, r) => onClientPacket(transfer, r, decodePacket(m)));
    transfer.bind(0, HOST, () => onClientPacket(transfer, rinfo, request));
  });
  await new Promise<void>((resolve) => listener.bind(0, HOST, resolve));
  return {
    port: (listener.address() as AddressInfo).port,
    close: () => {
      listener.close();
      for (const t of transfers) t.close();
    },
  };
}

describe('fetch: timeouts are totals against servers that misbehave on purpose (real loopback servers)', function () {
  this.timeout(60_000);

  it('TFTP: an endless storm of option acknowledgements ends within the retries (protocol error)', async () => {
    let oacks = 0;
    const server = await misbehavingTftp((transfer, client) => {
      // Whatever the client sends (the request, ACK 0 again and again), answer with more OACKs, fast.
      for (let i = 0; i < 3; i += 1) {
        oacks += 1;
        transfer.send(encodeOack({ blksize: '512', tsize: '100000' }), client.port, client.address);
      }
    });
    try {
      const started = Date.now();
      await assert.rejects(
        within(10_000, 'tftpGet', tftpGet(HOST, 'ITLFile.tlv', { port: server.port, timeoutMs: 500, retries: 3 })),
        (err: unknown) => err instanceof TftpError && err.kind === 'protocol' && /keeps sending option acknowledgements/.test(err.message),
      );
      assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
      assert.ok(oacks >= 4);
    } finally {
      server.close();
    }
  });

  it('TFTP: a server trickling blocks just inside the per-packet timeout is cut at the total (15 x --timeout)', async () => {
    const server = await misbehavingTftp((transfer, client, packet) => {
      // An endless file: every ACK gets the next full block, 150 ms later (under the 300 ms per-packet timeout).
      const next = packet.op === Opcode.RRQ ? 1 : packet.op === Opcode.ACK ? packet.block + 1 : undefined;
      if (next === undefined) return;
      setTimeout(() => {
        try {
          transfer.send(encodeData(next & 0xffff, Buffer.alloc(512, 0x41)), client.port, client.address);
        } catch {
          // closed at the end of the test
        }
      }, 150);
    });
    try {
      const started = Date.now();
      await assert.rejects(
        within(15_000, 'tftpGet', tftpGet(HOST, 'CTLFile.tlv', { port: server.port, timeoutMs: 300, options: false })),
        (err: unknown) => err instanceof TftpError && err.kind === 'timeout' && /after 4500 ms in all/.test(err.message),
      );
      const took = Date.now() - started;
      assert.ok(took >= 4400 && took < 7000, `${took} ms`);
    } finally {
      server.close();
    }
  });

  async function tricklingHttp(): Promise<{ port: number; close: () => void }> {
    const sockets = new Set<import('node:net').Socket>();
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      const timer = setInterval(() => res.write('x'), 100); // one byte every 100 ms: never idle for long
      res.on('close', () => clearInterval(timer));
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    };
  }

  it('HTTP: --timeout bounds the whole transfer, not only idle time (a server trickling one byte every 100 ms)', async () => {
    const server = await tricklingHttp();
    try {
      const started = Date.now();
      await assert.rejects(
        within(10_000, 'httpGet', httpGet(HOST, 'ITLFile.tlv', { port: server.port, timeoutMs: 1000 })),
        (err: unknown) => err instanceof HttpFetchError && err.kind === 'timeout' && /took more than 1000 ms/.test(err.message),
      );
      const took = Date.now() - started;
      assert.ok(took >= 950 && took < 3000, `${took} ms`);
    } finally {
      server.close();
    }
  });

  it('openctl fetch against the trickling HTTP server: exit 1, one line per file, within the timeout', async () => {
    const server = await tricklingHttp();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-trickle-'));
    try {
      const started = Date.now();
      const r = await within(20_000, 'openctl fetch', runCliCaptured(['fetch', HOST, '--via', 'http', '--http-port', String(server.port), '--timeout', '1000', '--out', out]));
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stdout + r.stderr, /CTLFile\.tlv.*took more than 1000 ms/);
      assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms for two files`);
      assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
    } finally {
      server.close();
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
