#!/usr/bin/env python3
# An independent writer of Cisco signed files, written from the byte layout in docs/formats.md alone and sharing no
# code with openctl (openssl signs). It writes what openctl's own builders never do, such as the
# firmware containers phones fetch over TFTP (.loads, .sbn, .zz.sgn): header version 1.1 and no timestamp.
# Python's standard library and the openssl command line only (openssl_tools.py), as independent_check.py.
#
#   independent_sgn.py SIGNER_PEM BODY OUT [--version 1.1] [--digest sha1|sha256|sha512] [--filename NAME]
#                      [--timestamp UNIX|none] [--dn comma|cucm]
# Prints one JSON line: the header length, the body's SHA-1 and where the signature element starts.
import hashlib, json, os, struct, sys
from openssl_tools import cert_facts, dn, sign

DIGESTS = {'sha1': 1, 'sha256': 2, 'sha512': 3}


def tlv(tag, value):
    return struct.pack('>BH', tag, len(value)) + value


def main(argv):
    signer_pem, body_path, out = argv[:3]
    opts = dict(zip(argv[3::2], argv[4::2]))
    major, minor = (int(x) for x in opts.get('--version', '1.1').split('.'))
    digest = opts.get('--digest', 'sha1')
    code = DIGESTS[digest]
    timestamp = opts.get('--timestamp', 'none')
    style = opts.get('--dn', 'cucm')
    cert = cert_facts(signer_pem)
    body = open(body_path, 'rb').read()
    siglen = cert['bits'] // 8
    before_sig = (tlv(3, tlv(4, dn(cert['subject'], style)) + tlv(5, cert['serial']) + tlv(6, dn(cert['issuer'], style)))
                  + tlv(7, tlv(8, bytes([code])) + tlv(9, tlv(10, b'\0') + tlv(11, bytes([[64, 128, 256, 512].index(siglen)])))))
    after_sig = tlv(14, opts.get('--filename', os.path.basename(out)).encode() + b'\0')
    if timestamp != 'none':
        after_sig += tlv(15, struct.pack('>I', int(timestamp)))
    size = 5 + 5 + len(before_sig) + 3 + siglen + len(after_sig)
    pad = (4 - size % 4) % 4
    head = tlv(1, bytes([major, minor])) + tlv(2, struct.pack('>H', size + pad))
    unsigned = head + before_sig + after_sig + b'\x0d' * pad + body
    signature = sign(signer_pem, digest, unsigned)
    cut = len(head) + len(before_sig)
    with open(out, 'wb') as f:
        f.write(unsigned[:cut] + tlv(12, signature) + unsigned[cut:])
    print(json.dumps({'headerLength': size + pad, 'bodySha1': hashlib.sha1(body).hexdigest(), 'signatureOffset': cut}))


main(sys.argv[1:])
