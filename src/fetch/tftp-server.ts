import * as dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import { readInput } from '../util/read-input';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import {
  DEFAULT_BLOCK_SIZE,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  Opcode,
  TftpErrorCode,
  decodePacket,
  encodeData,
  encodeError,
  encodeOack,
  type TftpOptions,
} from './tftp-packets';

/**
 * A small read-only TFTP server (RFC 1350 with blksize and tsize options): serves files from a folder or from
 * memory, one transfer ID (port) per transfer, with retransmission. Written for tests and labs (a CUCM stand-in
 * on 127.0.0.1); not hardened for the open internet.
 */
export interface TftpServerOptions {
  /** Serve the files of this folder (names only, no sub-folders). */
  root?: string;
  /** Or these files, by name (looked up case-insensitively, as CUCM does). */
  files?: ReadonlyMap<string, Buffer> | Record<string, Buffer>;
  host?: string; // default 127.0.0.1
  port?: number; // default 0: an ephemeral port
  /** Honour blksize/tsize (default true). False behaves as a plain RFC 1350 server. */
  acceptOptions?: boolean;
  timeoutMs?: number; // retransmission timeout (default 1000)
  retries?: number; // default 5
  /** Test hook: drop the first N DATA packets of each transfer (the client must retransmit its ACK/RRQ). */
  dropData?: number;
}

export interface TftpRequestLog {
  filename: string;
  options: TftpOptions;
  result: 'sent' | 'not-found' | 'refused' | 'failed';
}

export interface RunningTftpServer {
  host: string;
  port: number;
  requests: TftpRequestLog[];
  close(): Promise<void>;
}

export async function startTftpServer(options: TftpServerOptions): Promise<RunningTftpServer> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 1000;
  const retries = options.retries ?? 5;
  const requests: TftpRequestLog[] = [];
  /** Open transfer sockets, each with the function that stops it (timer included). */
  const transfers = new Map<dgram.Socket, () => void>();
  let closed = false;
  const memory = new Map<string, Buffer>();
  if (options.files) {
    const entries = options.files instanceof Map ? [...options.files] : Object.entries(options.files);
    for (const [name, data] of entries) memory.set(name.toLowerCase(), data);
  }

  const lookupFile = async (name: string): Promise<Buffer | undefined> => {
    const clean = name.replace(/^\/+/, '');
    if (clean === '' || clean.includes('..') || clean.includes('/') || clean.includes('\\')) return undefined;
    if (memory.has(clean.toLowerCase())) return memory.get(clean.toLowerCase());
    if (!options.root) return undefined;
    try {
      const entries = await fs.readdir(options.root);
      const match = entries.find((e) => e.toLowerCase() === clean.toLowerCase());
      // A FIFO or device dropped in the served folder must not hang the server: regular files only, capped.
      return match ? await readInput(path.join(options.root, match)) : undefined;
    } catch {
      return undefined;
    }
  };

  const main = dgram.createSocket('udp4');
  main.on('message', (msg, rinfo) => {
    let packet;
    try {
      packet = decodePacket(msg);
    } catch {
      main.send(encodeError(TftpErrorCode.ILLEGAL_OPERATION, 'Malformed request'), rinfo.port, rinfo.address);
      return;
    }
    if (packet.op === Opcode.WRQ) {
      requests.push({ filename: packet.filename, options: packet.options, result: 'refused' });
      main.send(encodeError(TftpErrorCode.ACCESS_VIOLATION, 'Read-only server'), rinfo.port, rinfo.address);
      return;
    }
    if (packet.op !== Opcode.RRQ) {
      main.send(encodeError(TftpErrorCode.ILLEGAL_OPERATION, 'Expected a read request'), rinfo.port, rinfo.address);
      return;
    }
    const request = packet;
    void lookupFile(request.filename).then((data) => {
      const log: TftpRequestLog = { filename: request.filename, options: request.options, result: 'sent' };
      requests.push(log);
      // Every answer, errors included, comes from a new transfer ID (RFC 1350 section 4).
      if (closed) return;
      const socket = dgram.createSocket('udp4');
      transfers.set(socket, () => safeClose(socket));
      socket.bind(0, host, () => {
        if (!data) {
          log.result = 'not-found';
          socket.send(encodeError(TftpErrorCode.FILE_NOT_FOUND, 'File not found'), rinfo.port, rinfo.address, () => {
            safeClose(socket);
            transfers.delete(socket);
          });
          return;
        }
        if (request.mode !== 'octet' && request.mode !== 'netascii') {
          log.result = 'refused';
          socket.send(encodeError(TftpErrorCode.ILLEGAL_OPERATION, `Unsupported mode ${request.mode}`), rinfo.port, rinfo.address, () => {
            safeClose(socket);
            transfers.delete(socket);
          });
          return;
        }
        runTransfer(socket, rinfo.address, rinfo.port, data, request.options, log);
      });
    });
  });

  const runTransfer = (
    socket: dgram.Socket,
    address: string,
    port: number,
    data: Buffer,
    asked: TftpOptions,
    log: TftpRequestLog,
  ) => {
    let blockSize = DEFAULT_BLOCK_SIZE;
    const reply: TftpOptions = {};
    if (options.acceptOptions !== false) {
      if (asked.blksize !== undefined) {
        const wanted = Number(asked.blksize);
        if (Number.isInteger(wanted) && wanted >= MIN_BLOCK_SIZE) {
          blockSize = Math.min(wanted, MAX_BLOCK_SIZE);
          reply.blksize = String(blockSize);
        }
      }
      if (asked.tsize !== undefined) reply.tsize = String(data.length);
    }
    let block = 0; // the block waiting for its ACK (0: the OACK)
    let attempts = 0;
    let dropsLeft = options.dropData ?? 0;
    let timer: NodeJS.Timeout | undefined;
    let current: Buffer;
    let ended = false;
    const end = (result: TftpRequestLog['result']) => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      if (result !== 'sent') log.result = result;
      safeClose(socket);
      transfers.delete(socket);
    };
    transfers.set(socket, () => end('failed'));
    const transmit = () => {
      if (ended) return;
      if (current[1] === Opcode.DATA && dropsLeft > 0) dropsLeft -= 1;
      else socket.send(current, port, address, () => undefined);
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        attempts += 1;
        if (attempts > retries) end('failed');
        else transmit();
      }, timeoutMs);
    };
    const lastBlock = Math.floor(data.length / blockSize) + 1;
    const sendBlock = (n: number) => {
      block = n;
      attempts = 0;
      const start = (n - 1) * blockSize;
      current = encodeData(n & 0xffff, data.subarray(start, Math.min(start + blockSize, data.length)));
      transmit();
    };
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== address || rinfo.port !== port) {
        socket.send(encodeError(TftpErrorCode.UNKNOWN_TID, 'Unknown transfer ID'), rinfo.port, rinfo.address);
        return;
      }
      let packet;
      try {
        packet = decodePacket(msg);
      } catch {
        return;
      }
      if (packet.op === Opcode.ERROR) return end('failed');
      if (packet.op !== Opcode.ACK || packet.block !== (block & 0xffff)) return; // duplicates: wait for our timer
      if (block === lastBlock) return end('sent');
      sendBlock(block + 1);
    });
    if (Object.keys(reply).length > 0) {
      current = encodeOack(reply);
      transmit();
    } else {
      sendBlock(1);
    }
  };

  await new Promise<void>((resolve, reject) => {
    main.once('error', reject);
    main.bind(options.port ?? 0, host, () => {
      main.off('error', reject);
      resolve();
    });
  });
  const port = (main.address() as AddressInfo).port;
  return {
    host,
    port,
    requests,
    close: async () => {
      closed = true;
      for (const stop of [...transfers.values()]) stop();
      transfers.clear();
      await new Promise<void>((resolve) => main.close(() => resolve()));
    },
  };
}

function safeClose(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    /* already closed */
  }
}
