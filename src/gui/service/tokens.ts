import type { EventHub } from '../events';
import type { DemoState, LoginResult, TokensSnapshot } from '../types';
import type { Signer } from '../../crypto/signer';
import { TokenError } from '../../util/errors';
import type { TokenAccess } from './token-access';

export interface TokenServiceOptions {
  events: EventHub;
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** Pending src/pkcs11's login, signer and watcher. */
export class TokenService implements TokenAccess {
  private revision = 0;
  constructor(private readonly options: TokenServiceOptions) {}
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  async snapshot(): Promise<TokensSnapshot> {
    return { tokens: [], emptySlots: 0, modules: [], revision: this.revision };
  }
  async login(_tokenId: string, _pin: string | undefined, _confirm: boolean): Promise<LoginResult> {
    throw new TokenError('not available yet');
  }
  async logout(_tokenId: string): Promise<TokensSnapshot> {
    return this.snapshot();
  }
  async demoState(): Promise<DemoState> {
    return { available: false, provisioned: false, active: false, problem: 'not available yet' };
  }
  async useDemoTokens(): Promise<DemoState> {
    return this.demoState();
  }
  async certificateOf(tokenId: string): Promise<Buffer> {
    throw new TokenError(`${tokenId}: not available yet`);
  }
  async signerFor(tokenId: string): Promise<Signer> {
    throw new TokenError(`${tokenId}: not available yet`);
  }
  describe(tokenId: string): string {
    return tokenId;
  }
}
