import type * as PeculiarX509 from '@peculiar/x509';

/** @peculiar/x509, loaded on first use (it needs the Reflect metadata polyfill first; `openctl show` never pays). */
export type X509Module = typeof PeculiarX509;
/** The WebCrypto-like object x509's generator signs through. */
export type X509Crypto = NonNullable<Parameters<X509Module['X509CertificateGenerator']['create']>[1]>;

let loaded: X509Module | undefined;

export function x509(): X509Module {
  if (!loaded) {
    require('reflect-metadata');
    loaded = require('@peculiar/x509') as X509Module;
  }
  return loaded;
}
