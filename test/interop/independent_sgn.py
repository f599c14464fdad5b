#!/usr/bin/env python3
# An independent writer of Cisco signed files, written from the byte layout in docs/formats.md alone and sharing no
# code with openctl (Python `cryptography` signs). It writes what openctl's own builders never do, such as the
# firmware containers phones fetch over TFTP (.loads, .sbn, .zz.sgn): header version 1.1 and no timestamp.
#
#   independent_sgn.py SIGNER_PEM BODY OUT [--version 1.1] [--digest sha1|sha256|sha512] [--filename NAME]
#                      [--timestamp UNIX|none] [--dn comma|cucm]
# Prints one JSON line: the header length, the body's SHA-1 and where the signature element starts.
import hashlib, json, os, struct, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

DIGESTS = {'sha1': (1, hashes.SHA1), 'sha256': (2, hashes.SHA256), 'sha512': (3, hashes.SHA512)}


def tlv(tag, value):
    return struct.pack('>BH', tag, len(value)) + value


def dn(name, style):
    parts = [a.rfc4514_string() for a in name]
    return (';' if style == 'cucm' else ',').join(parts).encode() + b'\0'


def main(argv):
    signer_pem, body_path, out = argv[:3]
    opts = dict(zip(argv[3::2], argv[4::2]))
    major, minor = (int(x) for x in opts.get('--version', '1.1').split('.'))
    code, algorithm = DIGESTS[opts.get('--digest', 'sha1')]
    timestamp = opts.get('--timestamp', 'none')
    style = opts.get('--dn', 'cucm')
    pem = open(signer_pem, 'rb').read()
    cert = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(pem, None)
    body = open(body_path, 'rb').read()
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, 'big')
    siglen = key.key_size // 8
    before_sig = (tlv(3, tlv(4, dn(cert.subject, style)) + tlv(5, serial) + tlv(6, dn(cert.issuer, style)))
                  + tlv(7, tlv(8, bytes([code])) + tlv(9, tlv(10, b'\0') + tlv(11, bytes([[64, 128, 256, 512].index(siglen)])))))
    after_sig = tlv(14, opts.get('--filename', os.path.basename(out)).encode() + b'\0')
    if timestamp != 'none':
        after_sig += tlv(15, struct.pack('>I', int(timestamp)))
    size = 5 + 5 + len(before_sig) + 3 + siglen + len(after_sig)
    pad = (4 - size % 4) % 4
    head = tlv(1, bytes([major, minor])) + tlv(2, struct.pack('>H', size + pad))
    unsigned = head + before_sig + after_sig + b'\x0d' * pad + body
    signature = key.sign(unsigned, padding.PKCS1v15(), algorithm())
    cut = len(head) + len(before_sig)
    with open(out, 'wb') as f:
        f.write(unsigned[:cut] + tlv(12, signature) + unsigned[cut:])
    print(json.dumps({'headerLength': size + pad, 'bodySha1': hashlib.sha1(body).hexdigest(), 'signatureOffset': cut}))


main(sys.argv[1:])
