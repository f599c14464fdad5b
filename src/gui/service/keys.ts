import * as path from 'node:path';
import type { PlanKey } from '../contract';
import type { Signer } from '../../crypto/signer';
import { loadPemSigner } from '../../crypto/pem-signer';
import type { TokenAccess } from './token-access';

/** A key chosen on a screen (a logged-in token, or a PEM file with key and certificate) as a Signer. */
export function openKey(key: PlanKey, tokens: TokenAccess): Promise<Signer> {
  return 'tokenId' in key ? tokens.signerFor(key.tokenId) : loadPemSigner(path.resolve(key.pem));
}

/** How a key is named in results: the token's label, or the PEM file's path. */
export function describeKey(key: PlanKey, tokens: TokenAccess): string {
  return 'tokenId' in key ? `token ${tokens.describe(key.tokenId)}` : path.resolve(key.pem);
}
