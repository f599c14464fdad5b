import type { Duplex } from 'node:stream';

/**
 * Reassembles one message from however TCP and TLS cut it: a fixed header that says how long the body is.
 * A server never trusts the length (a maximum size) and never waits without a timer. The reader stops at the
 * first problem and says which, so that the caller can log it and close that connection only.
 */
export interface Framing {
  headerLength: number;
  /** The body length the header announces, or a string saying why the header is not one of ours. */
  bodyLength(header: Buffer): number | string;
}

export type FrameProblem = 'timeout' | 'closed' | 'too-large' | 'bad-header';

export class FrameError extends Error {
  constructor(
    readonly problem: FrameProblem,
    message: string,
    /** Bytes received for this message when it failed. */
    readonly received: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

export class FrameReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly framing: Framing,
    /** The largest message accepted, header included. */
    private readonly maxBytes: number,
  ) {
    stream.on('data', (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.size += chunk.length;
      // Never hold more than one maximal message plus one chunk: a peer that streams garbage is cut off.
      if (this.size > this.maxBytes) stream.pause();
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  /** The next whole message (header + body), within `timeoutMs`. */
  async next(timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    let needed = this.framing.headerLength;
    let header: Buffer | undefined;
    for (;;) {
      if (!header && this.size >= this.framing.headerLength) {
        header = this.peek(this.framing.headerLength);
        const body = this.framing.bodyLength(header);
        if (typeof body === 'string') throw new FrameError('bad-header', body, this.size);
        needed = this.framing.headerLength + body;
        if (needed > this.maxBytes) {
          throw new FrameError('too-large', `message of ${needed} bytes announced, the limit is ${this.maxBytes}`, this.size);
        }
      }
      if (header && this.size >= needed) return this.take(needed);
      if (this.ended) throw new FrameError('closed', `connection closed after ${this.size} of ${needed} bytes`, this.size);
      const left = deadline - Date.now();
      if (left <= 0) throw new FrameError('timeout', `no complete message in ${timeoutMs} ms (${this.size} of ${needed} bytes)`, this.size);
      await this.waitForData(left);
    }
  }

  private waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
      if (this.stream.isPaused() && this.size <= this.maxBytes) this.stream.resume();
    });
  }

  private peek(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    this.buffered = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.peek(this.size);
    const message = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return message;
  }
}
