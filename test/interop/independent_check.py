#!/usr/bin/env python3
# An independent reader, written from the byte layout alone and sharing no code with openctl: parses a Cisco TLV file, cuts the signature element,
# and verifies it with openssl against the signer record's certificate (trust lists) or a given cert.
import struct, subprocess, sys, tempfile, os
def elems(b, s, e, top):
    o=s
    while o<e:
        t=b[o]
        if top and t==13: o+=1; continue
        l=struct.unpack('>H',b[o+1:o+3])[0]; yield (t,o,b[o+3:o+3+l]); o+=3+l
def main(path, cert=None):
    b=open(path,'rb').read()
    hl=None
    for t,o,v in elems(b,0,10,True):
        if t==2: hl=struct.unpack('>H',v)[0]
    hdr={}; sig=None
    for t,o,v in elems(b,0,hl,True):
        hdr[t]=v
        if t==12: sig=(o,v)
        if t==3:
            for t2,o2,v2 in elems(b,o+3,o+3+len(v),False): hdr[100+t2]=v2
        if t==7:
            for t2,o2,v2 in elems(b,o+3,o+3+len(v),False):
                hdr[200+t2]=v2
    version=tuple(hdr[1]); hashcode=hdr[208][0]
    data=b[:sig[0]]+b[sig[0]+3+len(sig[1]):]
    halg={1:'sha1',2:'sha256',3:'sha512'}[hashcode]
    certder=None; records=0
    if version==(1,2):
        o=hl
        while o<len(b):
            rl=struct.unpack('>H',b[o+3:o+5])[0]; rec={}
            for t,oo,v in elems(b,o,o+rl,False): rec[t]=v
            records+=1
            if rec.get(6)==hdr[105] and 9 in rec and certder is None: certder=rec[9]
            o+=rl
    d=tempfile.mkdtemp()
    open(f'{d}/data','wb').write(data); open(f'{d}/sig','wb').write(sig[1])
    if cert: subprocess.run(['openssl','x509','-in',cert,'-pubkey','-noout','-out',f'{d}/pub.pem'],check=True)
    else:
        open(f'{d}/c.der','wb').write(certder)
        subprocess.run(['openssl','x509','-inform','DER','-in',f'{d}/c.der','-pubkey','-noout','-out',f'{d}/pub.pem'],check=True)
    r=subprocess.run(['openssl','dgst','-'+halg,'-verify',f'{d}/pub.pem','-signature',f'{d}/sig',f'{d}/data'],capture_output=True,text=True)
    print(f"{os.path.basename(path)}: version {version}, header {hl}, {halg}, {records} records, filename {hdr[14][:-1].decode()}: openssl says {r.stdout.strip()}")
main(sys.argv[1], sys.argv[2] if len(sys.argv)>2 else None)
