/**
 * The reference implementation's dumps (vectors/reference/*.txt) transcribed as data by a one-off script:
 * what every vector must parse to. Timestamps are UTC (the machine that made them ran on UTC).
 */
export interface DumpRecord { length: number; subject: string; issuer: string; serial: string; role: string; publicKeyLength: number; signatureLength: number; certificateLength: number; keyAlgorithm: string; certificateSha1: string }
export interface Dump { file: string; version: string; headerLength: number; signerVersion?: string; signer: string; issuer: string; serial: string; digest: string; signatureLength: number; filename: string; timestampUtc: string; valid: boolean; encryption?: { ivLength: number; wrappedKeyLength: number; digest: string; plaintextDigest: string }; records?: DumpRecord[] }
export const REFERENCE_DUMPS: Dump[] = [
  {
    "file": "CTLFile-sha1.tlv",
    "version": "1.2",
    "headerLength": 480,
    "signer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
    "issuer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
    "serial": "9ff7b09849136c18ce71a47bffdd4c7b",
    "digest": "SHA1",
    "signatureLength": 256,
    "filename": "CTLFile-sha1.tlv",
    "timestampUtc": "2026-11-28 03:38:07",
    "valid": true,
    "signerVersion": "1.0",
    "records": [
      {
        "length": 1700,
        "subject": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "issuer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "serial": "9ff7b09849136c18ce71a47bffdd4c7b",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 998,
        "keyAlgorithm": "RSA",
        "certificateSha1": "27122bf325393a6f59e427fc01cdd6e495c70cca"
      },
      {
        "length": 1699,
        "subject": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "issuer": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "serial": "75d27c62a9b5e37b11a97ffbedecec39",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 997,
        "keyAlgorithm": "RSA",
        "certificateSha1": "6629b27e2c2dcb3657a66df812f8b004e8262825"
      },
      {
        "length": 1594,
        "subject": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "serial": "52e6fe904e7a8e117527e2e6efee58ae",
        "role": "CCM+TFTP",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "570aa09683000b6fccd1995e31a442fe5a7c4444"
      },
      {
        "length": 1600,
        "subject": "CN=cucm-sub1.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-sub1.example.net,O=Example Voice,OU=UC",
        "serial": "bb3b307578f1dcd8711eff7198201b28",
        "role": "CCM",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 936,
        "keyAlgorithm": "RSA",
        "certificateSha1": "0c3e04279925106fb333bfc5bd71c65f8a9a8bb9"
      },
      {
        "length": 1559,
        "subject": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "issuer": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "serial": "187ae3931f827bc0d0b99fa64ee24e5c",
        "role": "CAPF",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 911,
        "keyAlgorithm": "RSA",
        "certificateSha1": "f2e7018aa35c8fd54b9acd5d7387fb960379f32f"
      },
      {
        "length": 804,
        "subject": "CN=tvs-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=tvs-pub.example.net,O=Example Voice,OU=UC",
        "serial": "e148eef72a74b8ab71474eae614d1bc1",
        "role": "TVS",
        "publicKeyLength": 65,
        "signatureLength": 71,
        "certificateLength": 534,
        "keyAlgorithm": "EC",
        "certificateSha1": "47b9b590a9305c3d3791113282d73bf9b9efd323"
      },
      {
        "length": 2619,
        "subject": "CN=tftp-alt.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=tftp-alt.example.net,O=Example Voice,OU=UC",
        "serial": "eac8d0858ae685a1f308fa85efb166a5",
        "role": "TFTP",
        "publicKeyLength": 526,
        "signatureLength": 512,
        "certificateLength": 1445,
        "keyAlgorithm": "RSA",
        "certificateSha1": "3528621be1ce8f296bf6db2e2f38348bd2559dfa"
      }
    ]
  },
  {
    "file": "CTLFile-sha512.tlv",
    "version": "1.2",
    "headerLength": 476,
    "signer": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
    "issuer": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
    "serial": "75d27c62a9b5e37b11a97ffbedecec39",
    "digest": "SHA512",
    "signatureLength": 256,
    "filename": "CTLFile.tlv",
    "timestampUtc": "2026-11-28 03:38:07",
    "valid": true,
    "signerVersion": "1.0",
    "records": [
      {
        "length": 1699,
        "subject": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "issuer": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "serial": "75d27c62a9b5e37b11a97ffbedecec39",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 997,
        "keyAlgorithm": "RSA",
        "certificateSha1": "6629b27e2c2dcb3657a66df812f8b004e8262825"
      },
      {
        "length": 1700,
        "subject": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "issuer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "serial": "9ff7b09849136c18ce71a47bffdd4c7b",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 998,
        "keyAlgorithm": "RSA",
        "certificateSha1": "27122bf325393a6f59e427fc01cdd6e495c70cca"
      },
      {
        "length": 1594,
        "subject": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "serial": "52e6fe904e7a8e117527e2e6efee58ae",
        "role": "CCM+TFTP",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "570aa09683000b6fccd1995e31a442fe5a7c4444"
      },
      {
        "length": 1559,
        "subject": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "issuer": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "serial": "187ae3931f827bc0d0b99fa64ee24e5c",
        "role": "CAPF",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 911,
        "keyAlgorithm": "RSA",
        "certificateSha1": "f2e7018aa35c8fd54b9acd5d7387fb960379f32f"
      }
    ]
  },
  {
    "file": "CTLFile-tampered.tlv",
    "version": "1.2",
    "headerLength": 480,
    "signer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
    "issuer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
    "serial": "9ff7b09849136c18ce71a47bffdd4c7b",
    "digest": "SHA1",
    "signatureLength": 256,
    "filename": "CTLFile-sha1.tlv",
    "timestampUtc": "2026-11-28 03:38:07",
    "valid": false,
    "signerVersion": "1.0",
    "records": [
      {
        "length": 1700,
        "subject": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "issuer": "CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "serial": "9ff7b09849136c18ce71a47bffdd4c7b",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 998,
        "keyAlgorithm": "RSA",
        "certificateSha1": "27122bf325393a6f59e427fc01cdd6e495c70cca"
      },
      {
        "length": 1699,
        "subject": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "issuer": "CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ",
        "serial": "75d27c62a9b5e37b11a97ffbedecec39",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 997,
        "keyAlgorithm": "RSA",
        "certificateSha1": "6629b27e2c2dcb3657a66df812f8b004e8262825"
      },
      {
        "length": 1594,
        "subject": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "serial": "52e6fe904e7a8e117527e2e6efee58ae",
        "role": "CCM+TFTP",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "570aa09683000b6fccd1995e31a442fe5a7c4444"
      },
      {
        "length": 1600,
        "subject": "CN=bucm-sub1.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-sub1.example.net,O=Example Voice,OU=UC",
        "serial": "bb3b307578f1dcd8711eff7198201b28",
        "role": "CCM",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 936,
        "keyAlgorithm": "RSA",
        "certificateSha1": "0c3e04279925106fb333bfc5bd71c65f8a9a8bb9"
      },
      {
        "length": 1559,
        "subject": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "issuer": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "serial": "187ae3931f827bc0d0b99fa64ee24e5c",
        "role": "CAPF",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 911,
        "keyAlgorithm": "RSA",
        "certificateSha1": "f2e7018aa35c8fd54b9acd5d7387fb960379f32f"
      },
      {
        "length": 804,
        "subject": "CN=tvs-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=tvs-pub.example.net,O=Example Voice,OU=UC",
        "serial": "e148eef72a74b8ab71474eae614d1bc1",
        "role": "TVS",
        "publicKeyLength": 65,
        "signatureLength": 71,
        "certificateLength": 534,
        "keyAlgorithm": "EC",
        "certificateSha1": "47b9b590a9305c3d3791113282d73bf9b9efd323"
      },
      {
        "length": 2619,
        "subject": "CN=tftp-alt.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=tftp-alt.example.net,O=Example Voice,OU=UC",
        "serial": "eac8d0858ae685a1f308fa85efb166a5",
        "role": "TFTP",
        "publicKeyLength": 526,
        "signatureLength": 512,
        "certificateLength": 1445,
        "keyAlgorithm": "RSA",
        "certificateSha1": "3528621be1ce8f296bf6db2e2f38348bd2559dfa"
      }
    ]
  },
  {
    "file": "ITLFile-sha1.tlv",
    "version": "1.2",
    "headerLength": 436,
    "signer": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
    "issuer": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
    "serial": "0ce99f25edab33edf3b5ed2144a8d1df",
    "digest": "SHA1",
    "signatureLength": 256,
    "filename": "ITLFile.tlv",
    "timestampUtc": "2026-11-28 03:38:08",
    "valid": true,
    "signerVersion": "1.0",
    "records": [
      {
        "length": 1594,
        "subject": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
        "issuer": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
        "serial": "0ce99f25edab33edf3b5ed2144a8d1df",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "e28792b1519cce603f329e5bbb22ea4681e8a5bd"
      },
      {
        "length": 1594,
        "subject": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "serial": "52e6fe904e7a8e117527e2e6efee58ae",
        "role": "CCM+TFTP",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "570aa09683000b6fccd1995e31a442fe5a7c4444"
      },
      {
        "length": 1600,
        "subject": "CN=cucm-sub1.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-sub1.example.net,O=Example Voice,OU=UC",
        "serial": "bb3b307578f1dcd8711eff7198201b28",
        "role": "APP-SERVER",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 936,
        "keyAlgorithm": "RSA",
        "certificateSha1": "0c3e04279925106fb333bfc5bd71c65f8a9a8bb9"
      }
    ]
  },
  {
    "file": "ITLFile-v1.1.tlv",
    "version": "1.2",
    "headerLength": 436,
    "signer": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
    "issuer": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
    "serial": "0ce99f25edab33edf3b5ed2144a8d1df",
    "digest": "SHA512",
    "signatureLength": 256,
    "filename": "ITLFile.tlv",
    "timestampUtc": "2026-11-28 03:38:08",
    "valid": true,
    "signerVersion": "1.1",
    "records": [
      {
        "length": 1594,
        "subject": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
        "issuer": "CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC",
        "serial": "0ce99f25edab33edf3b5ed2144a8d1df",
        "role": "SAST",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "e28792b1519cce603f329e5bbb22ea4681e8a5bd"
      },
      {
        "length": 1594,
        "subject": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
        "serial": "52e6fe904e7a8e117527e2e6efee58ae",
        "role": "CCM+TFTP",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 932,
        "keyAlgorithm": "RSA",
        "certificateSha1": "570aa09683000b6fccd1995e31a442fe5a7c4444"
      },
      {
        "length": 1559,
        "subject": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "issuer": "CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC",
        "serial": "187ae3931f827bc0d0b99fa64ee24e5c",
        "role": "CAPF",
        "publicKeyLength": 270,
        "signatureLength": 256,
        "certificateLength": 911,
        "keyAlgorithm": "RSA",
        "certificateSha1": "f2e7018aa35c8fd54b9acd5d7387fb960379f32f"
      },
      {
        "length": 804,
        "subject": "CN=tvs-pub.example.net,O=Example Voice,OU=UC",
        "issuer": "CN=tvs-pub.example.net,O=Example Voice,OU=UC",
        "serial": "e148eef72a74b8ab71474eae614d1bc1",
        "role": "TVS",
        "publicKeyLength": 65,
        "signatureLength": 71,
        "certificateLength": 534,
        "keyAlgorithm": "EC",
        "certificateSha1": "47b9b590a9305c3d3791113282d73bf9b9efd323"
      }
    ]
  },
  {
    "file": "configs/Ringlist.xml.sgn",
    "version": "1.0",
    "headerLength": 436,
    "signer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "serial": "52e6fe904e7a8e117527e2e6efee58ae",
    "digest": "SHA512",
    "signatureLength": 256,
    "filename": "Ringlist.xml.sgn",
    "timestampUtc": "2026-11-28 03:38:16",
    "valid": true
  },
  {
    "file": "configs/SEP001122334455.cnf.xml.sgn",
    "version": "1.0",
    "headerLength": 448,
    "signer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "serial": "52e6fe904e7a8e117527e2e6efee58ae",
    "digest": "SHA1",
    "signatureLength": 256,
    "filename": "SEP001122334455.cnf.xml.sgn",
    "timestampUtc": "2026-11-28 03:38:16",
    "valid": true
  },
  {
    "file": "configs/SEP0011223344AA.cnf.xml.sgn",
    "version": "1.0",
    "headerLength": 448,
    "signer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "serial": "52e6fe904e7a8e117527e2e6efee58ae",
    "digest": "SHA512",
    "signatureLength": 256,
    "filename": "SEP0011223344AA.cnf.xml.sgn",
    "timestampUtc": "2026-11-28 03:38:16",
    "valid": true
  },
  {
    "file": "encrypted/SEP001122334455.cnf.xml.enc.sgn",
    "version": "2.0",
    "headerLength": 832,
    "signer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "issuer": "CN=cucm-pub.example.net,O=Example Voice,OU=UC",
    "serial": "52e6fe904e7a8e117527e2e6efee58ae",
    "digest": "SHA512",
    "signatureLength": 256,
    "filename": "SEP001122334455.cnf.xml.enc.sgn",
    "timestampUtc": "2026-11-28 03:38:16",
    "valid": true,
    "encryption": {
      "ivLength": 16,
      "wrappedKeyLength": 256,
      "digest": "SHA512",
      "plaintextDigest": "ff5d4c915122183cf77f5470ac9793588cde3034e0bf33aee197abc70061bef3c5ec4a33fdb4a15dee97fee46676cd0a9020a66143d5c711baeb7b056c387a4e"
    }
  }
];
