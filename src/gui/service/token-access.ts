import type { Signer } from '../../crypto/signer';

/** What the CTL builder and batch need from the token side of the service. */
export interface TokenAccess {
  /** The certificate the token signs with (its SAST certificate), DER. */
  certificateOf(tokenId: string): Promise<Buffer>;
  /** A signer on the logged-in token; throws a TokenError when the token is gone or not logged in. */
  signerFor(tokenId: string): Promise<Signer>;
  /** A person-readable name for the token: its label. */
  describe(tokenId: string): string;
}
