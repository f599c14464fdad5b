import type { HashAlgorithm } from '../crypto/hash';
import type { DnStyle, Version } from '../formats/model';

/** A cluster file after loading: paths made absolute, role names turned into record functions. */
export interface ClusterConfig {
  file?: string;
  name?: string;
  digest?: HashAlgorithm;
  signerVersion?: Version;
  dnStyle?: DnStyle;
  /** Certificate sources (absolute paths or pkcs11: URIs) for the CTL's SAST records. */
  sast: string[];
  servers: ClusterServer[];
}

export interface ClusterServer {
  name: string;
  dns?: string;
  ip?: string;
  certificates: Array<{ role: number; cert: string }>;
  /** SIGNER of this TFTP server's ITL (absolute path or pkcs11: URI). */
  itlSigner?: string;
}

/** One record to be written, before its certificate is loaded. */
export interface RecordSource {
  role: number;
  cert: string;
  dnsName?: string;
  ipv4?: string;
}
