#!/usr/bin/env python3
# An independent writer and reader of encrypted configs (.enc.sgn, header 2.0), written from the byte layout in
# docs/formats.md alone and sharing no code with openctl. It behaves as the readers and writers met in the field do:
#   - the writer pads the plaintext with 1 to 16 bytes 0x0D (a whole block when it is already a multiple of 16);
#   - the reader cuts the padding with body[:-count], so that a count of 0 leaves nothing.
# Uses the `cryptography` package (RSA PKCS#1 v1.5, AES-128-CBC, hashes), never openctl.
#
#   independent_enc.py encrypt TFTP_PEM DEVICE_CERT_PEM PLAIN...   writes PLAIN.enc.sgn beside each PLAIN
#     (OLD_ZERO_COUNT=1: count 0 for whole-block plaintexts, as openctl wrote before issue 10, to test old files)
#   independent_enc.py decrypt DEVICE_KEY_PEM ENC...               one JSON line per file: plaintext (hex) or error
import json, os, struct, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HASHES = {1: hashes.SHA1, 2: hashes.SHA256, 3: hashes.SHA512}


def tlv(tag, value):
    return struct.pack('>BH', tag, len(value)) + value


def dn(name):
    return ','.join(a.rfc4514_string() for a in name).encode() + b'\0'


def digest(code, data):
    h = hashes.Hash(HASHES[code]())
    h.update(data)
    return h.finalize()


def encrypt(tftp_pem, device_pem, plain_path, hash_code=1):
    pem = open(tftp_pem, 'rb').read()
    cert = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(pem, None)
    device = x509.load_pem_x509_certificate(open(device_pem, 'rb').read()).public_key()
    plain = open(plain_path, 'rb').read()
    aes_key, iv = os.urandom(16), os.urandom(16)
    count = 16 - len(plain) % 16
    if count == 16 and os.environ.get('OLD_ZERO_COUNT') == '1':
        count = 0
    enc = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    body = enc.update(plain + b'\r' * count) + enc.finalize()  # AES-CBC, no padding of its own
    wrapped = device.encrypt(aes_key, padding.PKCS1v15())
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, 'big')
    siglen = key.key_size // 8
    before_sig = (tlv(3, tlv(4, dn(cert.subject)) + tlv(5, serial) + tlv(6, dn(cert.issuer)))
                  + tlv(7, tlv(8, bytes([hash_code])) + tlv(9, tlv(10, b'\0') + tlv(11, bytes([[64, 128, 256, 512].index(siglen)])))))
    after_sig = (tlv(14, os.path.basename(plain_path).encode() + b'.enc.sgn\0') + tlv(15, struct.pack('>I', 1700000000))
                 + tlv(16, tlv(17, tlv(18, b'\0') + tlv(19, iv) + tlv(20, struct.pack('>H', count)))
                       + tlv(21, tlv(22, b'\0') + tlv(23, struct.pack('>H', len(wrapped) * 8)) + tlv(24, b'\x01') + tlv(25, wrapped)))
                 + tlv(26, bytes([hash_code])) + tlv(27, digest(hash_code, plain)))
    size = 5 + 5 + len(before_sig) + 3 + siglen + len(after_sig)
    pad = (4 - size % 4) % 4
    head = tlv(1, b'\x02\x00') + tlv(2, struct.pack('>H', size + pad))
    unsigned = head + before_sig + after_sig + b'\x0d' * pad + body
    signature = key.sign(unsigned, padding.PKCS1v15(), HASHES[hash_code]())
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
    key = serialization.load_pem_private_key(open(key_pem, 'rb').read(), None)
    aes_key = key.decrypt(found[25], padding.PKCS1v15())
    dec = Cipher(algorithms.AES(aes_key), modes.CBC(found[19])).decryptor()
    padded = dec.update(b[header_length:]) + dec.finalize()
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
