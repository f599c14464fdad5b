#!/usr/bin/env python3
"""A phone asking TVS, written from tvs-capf.md alone (struct + ssl, none of openctl's code): the independent
side of the TVS tests. Usage:
  phone_emulator.py HOST PORT TVS_CERT_PEM DEVICE_NAME CERT_DER_FILE [--tls1.0] [--session N] [--chunk N]
Authenticates the server by exact match of its certificate with TVS_CERT_PEM (as a phone matches its ITL's TVS
record), sends one verify request (optionally in N-byte pieces), prints the answer as one JSON line:
  {"status": 0, "roles": [1, 7], "ttl": 3600, "session": N}  or  {"error": "..."} (exit 1).
"""
import json, socket, ssl, struct, sys, time


def main():
    host, port, tvs_pem, device, cert_file = sys.argv[1:6]
    rest = sys.argv[6:]
    session = int(rest[rest.index('--session') + 1]) if '--session' in rest else 0x11223344
    chunk = int(rest[rest.index('--chunk') + 1]) if '--chunk' in rest else 0
    with open(cert_file, 'rb') as f:
        cert = f.read()
    with open(tvs_pem) as f:
        expected = ssl.PEM_cert_to_DER_cert(f.read())

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # pinned below, by exact DER match
    if '--tls1.0' in rest:
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    try:
        raw = socket.create_connection((host, int(port)), timeout=10)
        s = ctx.wrap_socket(raw)
    except (OSError, ssl.SSLError) as e:
        return fail(f'connect: {e}')
    if s.getpeercert(binary_form=True) != expected:
        return fail('server certificate is not the TVS certificate')

    name = b'\x01' + device.encode('ascii')
    body = struct.pack('>BH', 1, len(name)) + name + struct.pack('>BH', 2, len(cert)) + cert
    request = struct.pack('>BBBBIH', 0x57, 1, 1, 0, session, len(body)) + body
    if chunk:
        for i in range(0, len(request), chunk):
            s.sendall(request[i:i + chunk])
            time.sleep(0.01)
    else:
        s.sendall(request)

    data = b''
    while True:
        try:
            part = s.recv(4096)
        except (OSError, ssl.SSLError) as e:
            return fail(f'recv: {e}')
        if not part:
            break
        data += part
    if len(data) < 10:
        return fail(f'short answer ({len(data)} bytes)')
    proto, version, command, _, sess, length = struct.unpack_from('>BBBBIH', data, 0)
    if (proto, version, command) != (0x57, 1, 2) or len(data) != 10 + length:
        return fail(f'bad answer header {data[:10].hex()} ({len(data)} bytes)')
    out = {'session': sess, 'hex': data.hex()}
    i = 10
    while i < len(data):
        tag, n = struct.unpack_from('>BH', data, i)
        value = data[i + 3:i + 3 + n]
        if tag == 7:
            out['status'] = value[0]
        elif tag == 8:
            out['roles'] = list(value)
        elif tag == 9:
            out['ttl'] = struct.unpack('>I', value)[0]
        i += 3 + n
    print(json.dumps(out))
    return 0


def fail(message):
    print(json.dumps({'error': message}))
    return 1


if __name__ == '__main__':
    sys.exit(main())
