/**
 * TFTP packets (RFC 1350), with the option extension (RFC 2347: OACK) and the blksize (RFC 2348) and tsize
 * (RFC 2349) options. Bytes in, typed packets out, and back.
 */

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes (section 5), plus 8 from RFC 2347 (option negotiation refused). */
export const TftpErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

export const DEFAULT_BLOCK_SIZE = 512;
/** RFC 2348 limits. */
export const MIN_BLOCK_SIZE = 8;
export const MAX_BLOCK_SIZE = 65464;

export type TftpOptions = Record<string, string>;

export type TftpPacket =
  | { op: typeof Opcode.RRQ | typeof Opcode.WRQ; filename: string; mode: string; options: TftpOptions }
  | { op: typeof Opcode.DATA; block: number; data: Buffer }
  | { op: typeof Opcode.ACK; block: number }
  | { op: typeof Opcode.ERROR; code: number; message: string }
  | { op: typeof Opcode.OACK; options: TftpOptions };

export class TftpPacketError extends Error {}

function strings(buf: Buffer, start: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i < buf.length) {
    const end = buf.indexOf(0, i);
    if (end < 0) throw new TftpPacketError('string without its terminating zero byte');
    out.push(buf.toString('latin1', i, end));
    i = end + 1;
  }
  return out;
}

function optionPairs(parts: string[]): TftpOptions {
  const options: TftpOptions = {};
  for (let i = 0; i + 1 < parts.length; i += 2) options[parts[i]!.toLowerCase()] = parts[i + 1]!;
  return options;
}

export function decodePacket(buf: Buffer): TftpPacket {
  if (buf.length < 2) throw new TftpPacketError('packet shorter than an opcode');
  const op = buf.readUInt16BE(0);
  switch (op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const parts = strings(buf, 2);
      if (parts.length < 2) throw new TftpPacketError('request without filename and mode');
      return { op, filename: parts[0]!, mode: parts[1]!.toLowerCase(), options: optionPairs(parts.slice(2)) };
    }
    case Opcode.DATA:
      if (buf.length < 4) throw new TftpPacketError('DATA packet without a block number');
      return { op, block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case Opcode.ACK:
      if (buf.length < 4) throw new TftpPacketError('ACK packet without a block number');
      return { op, block: buf.readUInt16BE(2) };
    case Opcode.ERROR: {
      if (buf.length < 4) throw new TftpPacketError('ERROR packet without a code');
      const end = buf.indexOf(0, 4);
      return { op, code: buf.readUInt16BE(2), message: buf.toString('latin1', 4, end < 0 ? buf.length : end) };
    }
    case Opcode.OACK:
      return { op, options: optionPairs(strings(buf, 2)) };
    default:
      throw new TftpPacketError(`unknown opcode ${op}`);
  }
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
const z = (s: string) => Buffer.from(`${s}\0`, 'latin1');

export function encodeRequest(op: typeof Opcode.RRQ | typeof Opcode.WRQ, filename: string, options: TftpOptions = {}): Buffer {
  const opts = Object.entries(options).flatMap(([k, v]) => [z(k), z(v)]);
  return Buffer.concat([u16(op), z(filename), z('octet'), ...opts]);
}

export function encodeData(block: number, data: Buffer): Buffer {
  return Buffer.concat([u16(Opcode.DATA), u16(block), data]);
}

export function encodeAck(block: number): Buffer {
  return Buffer.concat([u16(Opcode.ACK), u16(block)]);
}

export function encodeError(code: number, message: string): Buffer {
  return Buffer.concat([u16(Opcode.ERROR), u16(code), z(message)]);
}

export function encodeOack(options: TftpOptions): Buffer {
  return Buffer.concat([u16(Opcode.OACK), ...Object.entries(options).flatMap(([k, v]) => [z(k), z(v)])]);
}

/** RFC 1350's names for its error codes, for messages. */
export function tftpErrorName(code: number): string {
  return (
    [
      'not defined',
      'file not found',
      'access violation',
      'disk full',
      'illegal TFTP operation',
      'unknown transfer ID',
      'file already exists',
      'no such user',
      'option negotiation refused',
    ][code] ?? `error ${code}`
  );
}
