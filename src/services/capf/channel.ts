import type { Duplex } from 'node:stream';
import { FrameError, FrameReader, type Framing } from '../common/framing';
import { CAPF_HEADER_LENGTH, CAPF_PROTOCOL, commandName, decodeMessage, encodeMessage, type CapfMessage } from './messages';

/**
 * CAPF messages over one connection, for both ends (server and `capf enroll`): the shared FrameReader
 * reassembles partial reads under a size limit and a timer; this adds the CAPF header check and the codec.
 */

export class ChannelError extends Error {
  constructor(
    message: string,
    /** `timeout`, `closed` (the peer went away), `garbage` (not CAPF, or malformed), `too-large`. */
    readonly kind: 'timeout' | 'closed' | 'garbage' | 'too-large',
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** Far above any real message (an auth response with a 4096-bit MIC and two signatures is under 3 KB). */
export const DEFAULT_MAX_MESSAGE = 16 * 1024;

export const CAPF_FRAMING: Framing = {
  headerLength: CAPF_HEADER_LENGTH,
  bodyLength(header: Buffer): number | string {
    if (header[0] !== CAPF_PROTOCOL) return `not CAPF: first byte 0x${header[0]!.toString(16).padStart(2, '0')}${describeGarbage(header)}`;
    return header.readUInt16BE(6);
  },
};

export class MessageChannel {
  private readonly reader: FrameReader;

  constructor(
    private readonly socket: Duplex,
    maxMessage = DEFAULT_MAX_MESSAGE,
  ) {
    this.reader = new FrameReader(socket, CAPF_FRAMING, maxMessage);
  }

  /** The next whole message, within `timeoutMs`. */
  async read(timeoutMs: number, expecting = 'a message'): Promise<CapfMessage> {
    let bytes: Buffer;
    try {
      bytes = await this.reader.next(timeoutMs);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      const kind = err.problem === 'bad-header' ? 'garbage' : err.problem;
      const lead = kind === 'timeout' ? `no ${expecting} in time` : kind === 'closed' ? `the peer closed the connection while ${expecting} was expected` : `while waiting for ${expecting}`;
      throw new ChannelError(`${lead} (${err.message})`, kind);
    }
    try {
      return decodeMessage(bytes);
    } catch (err) {
      throw new ChannelError(`malformed ${commandName(bytes[1]!)}: ${(err as Error).message}`, 'garbage');
    }
  }

  send(message: CapfMessage): Promise<void> {
    const bytes = encodeMessage(message);
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || !this.socket.writable) {
        reject(new ChannelError(`cannot send ${commandName(message.command)}: the connection is closed`, 'closed'));
        return;
      }
      this.socket.write(bytes, (err) => (err ? reject(new ChannelError(`cannot send ${commandName(message.command)}: ${err.message}`, 'closed')) : resolve()));
    });
  }
}

/** Name plain-text garbage the way a person recognises it. */
function describeGarbage(header: Buffer): string {
  const text = header.toString('latin1');
  if (/^(GET|POST|HEAD|PUT|OPTIONS) /.test(text)) return ' (an HTTP request)';
  if (header[0] === 0x16) return ' (a TLS handshake inside TLS)';
  return '';
}
