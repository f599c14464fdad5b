#!/usr/bin/env python3
# An independent writer and reader of encrypted configs (.enc.sgn, header 2.0), written from the byte layout in
# docs/formats.md alone and sharing no code with openctl. It behaves as the readers and writers met in the field do:
#   - the writer pads the plaintext with 1 to 16 bytes 0x0D (a whole block when it is already a multiple of 16);
#   - the reader cuts the padding with body[:-count], so that a count of 0 leaves nothing.
# RSA PKCS#1 v1.5 and AES-128-CBC through the openssl command line (openssl_tools.py), digests from hashlib: Python's
# standard library and openssl only, as independent_check.py; never openctl.
#
#   independent_enc.py encrypt TFTP_PEM DEVICE_CERT_PEM PLAIN...   writes PLAIN.enc.sgn beside each PLAIN
#     (OLD_ZERO_COUNT=1: count 0 for whole-block plaintexts, as openctl wrote before issue 10, to test old files)
#   independent_enc.py decrypt DEVICE_KEY_PEM ENC...               one JSON line per file: plaintext (hex) or error
import hashlib, json, os, struct, sys
from openssl_tools import aes_cbc, cert_facts, dn, rsa_decrypt, rsa_encrypt, sign

HASHES = {1: 'sha1', 2: 'sha256', 3: 'sha512'}


def tlv(tag, value):
    return struct.pack('>BH', tag, len(value)) + value


def digest(code, data):
    return hashlib.new(HASHES[code], data).digest()


def encrypt(tftp_pem, device_pem, plain_path, hash_code=1):
    cert = cert_facts(tftp_pem)
    plain = open(plain_path, 'rb').read()
    aes_key, iv = os.urandom(16), os.urandom(16)
    count = 16 - len(plain) % 16
    if count == 16 and os.environ.get('OLD_ZERO_COUNT') == '1':
        count = 0
    body = aes_cbc(aes_key, iv, plain + b'\r' * count)
    wrapped = rsa_encrypt(device_pem, aes_key)
    siglen = cert['bits'] // 8
    before_sig = (tlv(3, tlv(4, dn(cert['subject'], 'comma')) + tlv(5, cert['serial']) + tlv(6, dn(cert['issuer'], 'comma')))
                  + tlv(7, tlv(8, bytes([hash_code])) + tlv(9, tlv(10, b'\0') + tlv(11, bytes([[64, 128, 256, 512].index(siglen)])))))
    after_sig = (tlv(14, os.path.basename(plain_path).encode() + b'.enc.sgn\0') + tlv(15, struct.pack('>I', 1700000000))
                 + tlv(16, tlv(17, tlv(18, b'\0') + tlv(19, iv) + tlv(20, struct.pack('>H', count)))
                       + tlv(21, tlv(22, b'\0') + tlv(23, struct.pack('>H', len(wrapped) * 8)) + tlv(24, b'\x01') + tlv(25, wrapped)))
                 + tlv(26, bytes([hash_code])) + tlv(27, digest(hash_code, plain)))
    size = 5 + 5 + len(before_sig) + 3 + siglen + len(after_sig)
    pad = (4 - size % 4) % 4
    head = tlv(1, b'\x02\x00') + tlv(2, struct.pack('>H', size + pad))
    unsigned = head + before_sig + after_sig + b'\x0d' * pad + body
    signature = sign(tftp_pem, HASHES[hash_code], unsigned)
    cut = len(head) + len(before_sig)
    with open(plain_path + '.enc.sgn', 'wb') as f:
        f.write(unsigned[:cut] + tlv(12, signature) + unsigned[cut:])


def elements(b, start, end):
    o = start
    while o < end:
        if b[o] == 13:  # header padding: one byte, no length
            o += 1
            continue
        (length,) = struct.unpack_from('>H', b, o + 1)
        yield b[o], b[o + 3:o + 3 + length]
        o += 3 + length


def decrypt(key_pem, path):
    b = open(path, 'rb').read()
    (header_length,) = struct.unpack_from('>H', b, 8)
    found = {}
    # Containers: 16 holds 17 and 21, which hold the leaves; walk them by value (no padding byte inside them).
    for tag, value in elements(b, 0, header_length):
        found[tag] = value
        if tag == 16:
            for t2, v2 in elements(value, 0, len(value)):
                for t3, v3 in elements(v2, 0, len(v2)):
                    found[t3] = v3
    aes_key = rsa_decrypt(key_pem, found[25])
    padded = aes_cbc(aes_key, found[19], b[header_length:], decrypt=True)
    (count,) = struct.unpack('>H', found[20])
    plain = padded[:-count]  # as field readers cut it: a count of 0 leaves nothing
    if digest(found[26][0], plain) != found[27]:
        raise ValueError(f'mismatched encryption digest (padding count {count})')
    return plain


def main():
    mode = sys.argv[1]
    if mode == 'encrypt':
        for plain in sys.argv[4:]:
            encrypt(sys.argv[2], sys.argv[3], plain)
    elif mode == 'decrypt':
        for path in sys.argv[3:]:
            try:
                print(json.dumps({'file': path, 'plaintext': decrypt(sys.argv[2], path).hex()}))
            except Exception as error:  # one line per file, whatever went wrong
                print(json.dumps({'file': path, 'error': str(error)}))
    else:
        sys.exit(f'unknown mode {mode}')


main()
