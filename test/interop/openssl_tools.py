# Shared by the independent writers (independent_sgn.py, independent_enc.py): certificate facts, RSA and AES through
# the openssl command line (as independent_check.py verifies), so that they need nothing but python3's standard
# library and openssl, which .ci/run installs. Nothing here comes from openctl.
import os, re, subprocess, tempfile


def openssl(*args, data=None):
    return subprocess.run(['openssl', *args], input=data, capture_output=True, check=True).stdout


def cert_facts(pem_path):
    """Subject and issuer as lists of (type, value) in certificate order, serial bytes, RSA modulus bits."""
    text = openssl('x509', '-in', pem_path, '-noout', '-subject', '-issuer', '-serial', '-nameopt', 'RFC2253,-esc_msb').decode()
    fields = dict(line.split('=', 1) for line in text.strip().splitlines())
    serial = bytes.fromhex(fields['serial'].rjust(len(fields['serial']) + len(fields['serial']) % 2, '0')).lstrip(b'\0') or b'\0'
    bits = int(re.search(r'Public-Key: \((\d+) bit', openssl('x509', '-in', pem_path, '-noout', '-text').decode()).group(1))
    return {'subject': rdns(fields['subject']), 'issuer': rdns(fields['issuer']), 'serial': serial, 'bits': bits}


def rdns(rfc2253):
    """RFC 2253 lists the last RDN first: split on unescaped commas and reverse into certificate order."""
    parts = re.split(r'(?<!\\),', rfc2253.strip())
    return [tuple(p.split('=', 1)) for p in reversed(parts)]


def dn(attrs, style):
    return (';' if style == 'cucm' else ',').join(f'{t}={v}' for t, v in attrs).encode() + b'\0'


def sign(key_pem, digest, data):
    """RSA PKCS#1 v1.5 over `data` with `digest` (sha1, sha256, sha512)."""
    return openssl('dgst', f'-{digest}', '-sign', key_pem, data=data)


def rsa_encrypt(cert_pem, data):
    return openssl('pkeyutl', '-encrypt', '-certin', '-inkey', cert_pem, '-pkeyopt', 'rsa_padding_mode:pkcs1', data=data)


def rsa_decrypt(key_pem, data):
    return openssl('pkeyutl', '-decrypt', '-inkey', key_pem, '-pkeyopt', 'rsa_padding_mode:pkcs1', data=data)


def aes_cbc(key, iv, data, decrypt=False):
    """AES-128-CBC without padding of its own (the format pads with 0x0D and says how much in tag 20)."""
    return openssl('enc', '-aes-128-cbc', '-d' if decrypt else '-e', '-nopad', '-K', key.hex(), '-iv', iv.hex(), data=data)
