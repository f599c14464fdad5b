import * as tls from 'node:tls';

/**
 * Limit T's process (see tvs-limit.ts): options as JSON on stdin; prints `listening on 127.0.0.1:PORT`.
 * Accept, (speak first,) read one request by its header's length, write the fixed answer, close. Nothing else.
 */
interface Options {
  keyPem: string;
  certPem: string;
  answer: string;
  speakFirst?: string;
  framing: { lengthOffset: number; lengthBytes: 1 | 2 | 4; headerLength: number };
  minVersion?: tls.SecureVersion;
}

let input = '';
process.stdin.on('data', (c: Buffer) => (input += c.toString()));
process.stdin.on('end', () => {
  const o = JSON.parse(input) as Options;
  const answer = Buffer.from(o.answer, 'base64');
  const first = o.speakFirst ? Buffer.from(o.speakFirst, 'base64') : undefined;
  const { lengthOffset, lengthBytes, headerLength } = o.framing;
  const server = tls.createServer({ key: o.keyPem, cert: o.certPem, minVersion: o.minVersion ?? 'TLSv1.2' }, (socket) => {
    socket.on('error', () => undefined);
    if (first) socket.write(first);
    let buffered = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      buffered = Buffer.concat([buffered, c]);
      if (buffered.length < headerLength) return;
      const body = buffered.readUIntBE(lengthOffset, lengthBytes);
      if (buffered.length >= headerLength + body) socket.end(answer);
    });
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on 127.0.0.1:${(server.address() as { port: number }).port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
});
