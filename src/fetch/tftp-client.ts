import { safeText } from '../util/safe-text';
import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { lookup } from 'node:dns/promises';
import {
  DEFAULT_BLOCK_SIZE,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  Opcode,
  TftpErrorCode,
  decodePacket,
  encodeAck,
  encodeError,
  encodeRequest,
  tftpErrorName,
  type TftpOptions,
} from './tftp-packets';

export const TFTP_PORT = 69;
/** Larger than any real CTL, ITL or config: a server sending more is not a CUCM TFTP server. */
export const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

export interface TftpGetOptions {
  port?: number; // default 69
  /** Wait this long for each packet before sending the last one again (default 2000 ms). */
  timeoutMs?: number;
  /** Retransmissions before giving up (default 4). */
  retries?: number;
  /**
   * The whole download, whatever the server sends (a trickle of blocks, repeated option acknowledgements):
   * default TFTP_TOTAL_TIMEOUTS x timeoutMs.
   */
  totalTimeoutMs?: number;
  /** Ask for this block size (RFC 2348). Servers that ignore options send 512-byte blocks. Default 1428. */
  blockSize?: number;
  /** Ask for the transfer size (RFC 2349) and check the download against it. Default true. */
  tsize?: boolean;
  /** False: plain RFC 1350 request without options. */
  options?: boolean;
  signal?: AbortSignal;
  maxBytes?: number;
}

/** A download takes at most this many per-packet timeouts in all (30 s at the default 2 s). */
export const TFTP_TOTAL_TIMEOUTS = 15;

/** Why a TFTP download failed. `code` is the server's TFTP error code when it sent one. */
export class TftpError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-found' | 'server-error' | 'timeout' | 'protocol' | 'network' | 'aborted',
    readonly code?: number,
  ) {
    super(message);
    this.name = 'TftpError';
  }
}

/**
 * Download one file over TFTP (octet mode) as a phone does. The server answers from a new port (its transfer
 * ID); packets from any other port are answered with error 5 and ignored. A lost packet is recovered by
 * sending the last one again.
 */
export async function tftpGet(host: string, filename: string, options: TftpGetOptions = {}): Promise<Buffer> {
  const port = options.port ?? TFTP_PORT;
  const timeoutMs = options.timeoutMs ?? 2000;
  const retries = options.retries ?? 4;
  const totalTimeoutMs = options.totalTimeoutMs ?? TFTP_TOTAL_TIMEOUTS * timeoutMs;
  const maxBytes = options.maxBytes ?? MAX_DOWNLOAD_BYTES;
  const wantOptions = options.options !== false;
  const requested: TftpOptions = {};
  if (wantOptions) {
    const blk = options.blockSize ?? 1428;
    if (blk < MIN_BLOCK_SIZE || blk > MAX_BLOCK_SIZE) throw new RangeError(`block size ${blk} outside ${MIN_BLOCK_SIZE}..${MAX_BLOCK_SIZE}`);
    if (blk !== DEFAULT_BLOCK_SIZE) requested.blksize = String(blk);
    if (options.tsize !== false) requested.tsize = '0';
  }

  let address: string;
  try {
    address = (await lookup(host)).address;
  } catch {
    throw new TftpError(`cannot resolve host "${host}"`, 'network');
  }
  const socket = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let blockSize = DEFAULT_BLOCK_SIZE;
    let expectedSize: number | undefined;
    let expected = 1; // next DATA block number
    let serverPort: number | undefined;
    let lastPacket = encodeRequest(Opcode.RRQ, filename, requested);
    let lastPort = port;
    let attempts = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    // The whole transfer is bounded: a server can keep the per-packet timer happy forever (one block a
    // second, or option acknowledgements over and over), never this one.
    const deadline = setTimeout(() => {
      const what = serverPort === undefined ? `no answer from ${host}:${port}` : `the transfer from ${host} was not done (at block ${expected}, ${received} bytes)`;
      finish(new TftpError(`${filename}: timeout: ${what} after ${totalTimeoutMs} ms in all`, 'timeout'));
    }, totalTimeoutMs);

    const finish = (err: Error | undefined, data?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(data!);
    };
    const onAbort = () => finish(new TftpError(`${filename}: download interrupted`, 'aborted'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const send = (packet: Buffer, toPort: number) => {
      lastPacket = packet;
      lastPort = toPort;
      socket.send(packet, toPort, address, (err) => {
        if (err) finish(new TftpError(`${host}: cannot send: ${err.message}`, 'network'));
      });
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        attempts += 1;
        if (attempts > retries) {
          const what = serverPort === undefined ? `no answer from ${host}:${port}` : `the transfer from ${host} stalled at block ${expected}`;
          finish(new TftpError(`${filename}: timeout: ${what} after ${retries + 1} tries of ${timeoutMs} ms`, 'timeout'));
          return;
        }
        send(lastPacket, lastPort);
        arm();
      }, timeoutMs);
    };
    const progress = () => {
      attempts = 0;
      arm();
    };
    /** A packet that moves nothing forward (a repeated OACK, a duplicate block): it counts as a try. */
    const noProgress = (what: string): boolean => {
      attempts += 1;
      if (attempts <= retries) return true;
      finish(new TftpError(`${filename}: the server at ${host} keeps sending ${what}: gave up after ${retries + 1} tries`, 'protocol'));
      return false;
    };
    let oackSeen = false;

    socket.on('error', (err) => finish(new TftpError(`${host}: ${err.message}`, 'network')));
    socket.on('message', (msg, rinfo) => {
      if (done || rinfo.address !== address) return;
      if (serverPort === undefined) {
        serverPort = rinfo.port;
      } else if (rinfo.port !== serverPort) {
        // RFC 1350 section 4: a packet from another transfer ID gets error 5 and does not disturb this one.
        socket.send(encodeError(TftpErrorCode.UNKNOWN_TID, 'Unknown transfer ID'), rinfo.port, rinfo.address);
        return;
      }
      let packet;
      try {
        packet = decodePacket(msg);
      } catch (err) {
        finish(new TftpError(`${filename}: malformed packet from ${host}: ${(err as Error).message}`, 'protocol'));
        return;
      }
      switch (packet.op) {
        case Opcode.ERROR: {
          const kind = packet.code === TftpErrorCode.FILE_NOT_FOUND ? 'not-found' : 'server-error';
          const text = packet.message ? `: ${safeText(packet.message, 200)}` : ''; // the server's words: untrusted
          finish(new TftpError(`${filename}: TFTP error ${packet.code} (${tftpErrorName(packet.code)})${text}`, kind, packet.code));
          return;
        }
        case Opcode.OACK: {
          if (expected !== 1 || chunks.length > 0) return; // a late duplicate
          if (oackSeen) {
            // Our ACK 0 may have been lost: send it again, but a storm of OACKs never resets the tries.
            if (noProgress('option acknowledgements')) socket.send(encodeAck(0), rinfo.port, rinfo.address);
            return;
          }
          oackSeen = true;
          const blk = packet.options.blksize !== undefined ? Number(packet.options.blksize) : DEFAULT_BLOCK_SIZE;
          if (!Number.isInteger(blk) || blk < MIN_BLOCK_SIZE || blk > (Number(requested.blksize) || DEFAULT_BLOCK_SIZE)) {
            socket.send(encodeError(TftpErrorCode.OPTION_REFUSED, 'bad blksize'), rinfo.port, rinfo.address);
            finish(new TftpError(`${filename}: the server answered an unusable block size "${packet.options.blksize}"`, 'protocol'));
            return;
          }
          blockSize = blk;
          if (packet.options.tsize !== undefined) {
            expectedSize = Number(packet.options.tsize);
            if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) expectedSize = undefined;
            else if (expectedSize > maxBytes) {
              socket.send(encodeError(TftpErrorCode.DISK_FULL, 'file too large'), rinfo.port, rinfo.address);
              finish(new TftpError(`${filename}: the server announces ${expectedSize} bytes, more than ${maxBytes}`, 'protocol'));
              return;
            }
          }
          send(encodeAck(0), serverPort);
          progress();
          return;
        }
        case Opcode.DATA: {
          if (packet.block === expected) {
            if (packet.data.length > blockSize) {
              finish(new TftpError(`${filename}: block ${packet.block} holds ${packet.data.length} bytes, more than the block size ${blockSize}`, 'protocol'));
              return;
            }
            received += packet.data.length;
            if (received > maxBytes) {
              socket.send(encodeError(TftpErrorCode.DISK_FULL, 'file too large'), rinfo.port, rinfo.address);
              finish(new TftpError(`${filename}: more than ${maxBytes} bytes`, 'protocol'));
              return;
            }
            chunks.push(packet.data);
            send(encodeAck(packet.block), serverPort);
            expected = (expected + 1) & 0xffff; // block numbers wrap after 65535
            if (packet.data.length < blockSize) {
              const data = Buffer.concat(chunks);
              if (expectedSize !== undefined && data.length !== expectedSize) {
                finish(new TftpError(`${filename}: received ${data.length} bytes, the server announced ${expectedSize}`, 'protocol'));
              } else {
                finish(undefined, data);
              }
              return;
            }
            progress();
          } else if (packet.block === ((expected - 1) & 0xffff)) {
            // Our ACK was lost: the server sent the same block again. Acknowledge it again (no Sorcerer's Apprentice:
            // duplicates of an ACK are never answered with DATA by a client), as a try: never forever.
            if (noProgress(`block ${packet.block} again`)) socket.send(encodeAck(packet.block), rinfo.port, rinfo.address);
          }
          return;
        }
        default:
          finish(new TftpError(`${filename}: unexpected TFTP packet (opcode ${packet.op}) from ${host}`, 'protocol'));
      }
    });

    socket.bind(0, () => {
      send(lastPacket, port);
      arm();
    });
  });
}
