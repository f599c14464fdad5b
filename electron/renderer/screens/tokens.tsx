import { useState } from 'preact/hooks';
import type { TokenView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, CertSummary } from '../components/basics';
import { errorMessage } from '../util';

function PinState({ token }: { token: TokenView }) {
  const f = token.flags;
  return (
    <span class="badges">
      {token.loggedIn ? <Badge tone="ok">logged in</Badge> : f.loginRequired ? <Badge tone="info">login required</Badge> : null}
      {f.pinPad && <Badge tone="info">PIN pad</Badge>}
      {f.pinLocked && <Badge tone="error">PIN locked</Badge>}
      {!f.pinLocked && f.pinFinalTry && <Badge tone="error">final PIN try</Badge>}
      {!f.pinLocked && !f.pinFinalTry && f.pinCountLow && <Badge tone="warn">PIN count low</Badge>}
    </span>
  );
}

function TokenCard({ token }: { token: TokenView }) {
  const { api, login, notify, refreshTokens } = useApp();
  const headingId = `token-${token.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const logout = async () => {
    try {
      await api.logout({ tokenId: token.id });
      await refreshTokens();
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  return (
    <li class="card token" aria-labelledby={headingId} data-token={token.label}>
      <div class="card-head">
        <h3 id={headingId}>{token.label}</h3>
        <PinState token={token} />
      </div>
      <dl class="facts">
        <dt>Model</dt>
        <dd>{token.model}</dd>
        <dt>Manufacturer</dt>
        <dd>{token.manufacturer}</dd>
        <dt>Serial</dt>
        <dd class="mono">{token.serial}</dd>
        <dt>Slot</dt>
        <dd>{token.slot}</dd>
      </dl>
      {token.sast ? (
        <div>
          <h4>SAST certificate</h4>
          <CertSummary cert={token.sast} />
        </div>
      ) : (
        <p class="muted">No certificate with a private key on this token{token.loggedIn ? '' : ' (some tokens show keys only after log-in)'}.</p>
      )}
      {token.keyPairs.length > 1 && (
        <p class="muted">
          {token.keyPairs.length} key pairs: {token.keyPairs.map((k) => k.label || (k.id ? `id ${k.id}` : 'no label')).join(', ')}
        </p>
      )}
      <div class="actions">
        {token.loggedIn ? (
          <button type="button" onClick={() => void logout()}>
            Log out of {token.label}
          </button>
        ) : (
          <button type="button" class="primary" onClick={() => login(token)} disabled={token.flags.pinLocked}>
            Log in to {token.label}…
          </button>
        )}
      </div>
    </li>
  );
}

/** The same tokens from a terminal: what `npm run tokens:demo` prints. */
function DemoCli({ lines }: { lines?: string[] }) {
  if (!lines?.length) return null;
  return (
    <div data-testid="demo-cli">
      <p>From the command line (the same tokens):</p>
      <pre class="mono">{lines.join('\n')}</pre>
    </div>
  );
}

function DemoOffer() {
  const { api, info, refreshInfo, refreshTokens, notify, go } = useApp();
  const [busy, setBusy] = useState(false);
  const demo = info?.demo;
  if (!demo) return null;
  const use = async () => {
    setBusy(true);
    try {
      const state = await api.useDemoTokens({});
      notify(`Demo tokens ready in ${state.dir ?? 'the data folder'}`);
      await refreshInfo();
      await refreshTokens();
    } catch (err) {
      notify(errorMessage(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  if (demo.active) {
    return (
      <section class="card demo" aria-labelledby="demo-title">
        <h3 id="demo-title">Demo tokens</h3>
        <p>
          These are SoftHSM software tokens in <span class="mono">{demo.dir}</span>, for trying openctl. Their PINs:
        </p>
        <ul>
          {(demo.tokens ?? []).map((t) => (
            <li key={t.label}>
              {t.label}: PIN <span class="mono">{t.pin}</span>
            </li>
          ))}
        </ul>
        <p>
          Next: in the CTL builder, add the SAST certificates of both tokens, choose the token that signs, and save.
        </p>
        <DemoCli lines={demo.cli} />
        <button type="button" class="primary" onClick={() => go('ctl')}>
          Build a CTL with them
        </button>
      </section>
    );
  }
  return (
    <section class="card demo" aria-labelledby="demo-title">
      <h3 id="demo-title">No token? Try the demo tokens</h3>
      <p>
        openctl can create two SoftHSM software tokens, eToken-A and eToken-B, each with a SAST key and certificate,
        so you can build and sign a CTL right away (the same tokens as <span class="mono">npm run tokens:demo</span>, in the
        same folder).{demo.provisioned ? ' They already exist in your data folder.' : ''}
      </p>
      {demo.available ? (
        <button type="button" class="primary" onClick={() => void use()} disabled={busy}>
          {busy ? 'Preparing demo tokens…' : 'Use demo tokens'}
        </button>
      ) : (
        <p class="muted">{demo.problem ?? 'SoftHSM is not installed on this machine.'}</p>
      )}
    </section>
  );
}

export function TokensScreen() {
  const { tokens, info, refreshTokens } = useApp();
  const count = tokens.tokens.length;
  return (
    <div class="screen">
      <div class="row">
        <h2 tabIndex={-1} class="grow">
          Tokens
        </h2>
        <button type="button" onClick={() => void refreshTokens()}>
          Refresh
        </button>
      </div>
      <p class="muted" aria-live="polite" data-testid="token-count">
        {tokens.revision < 0
          ? 'Looking for tokens…'
          : `${count} token${count === 1 ? '' : 's'} found${tokens.emptySlots ? `, ${tokens.emptySlots} empty reader slot${tokens.emptySlots === 1 ? '' : 's'}` : ''}. Insert or remove a token: this list follows.`}
      </p>
      {tokens.problem && (
        <p class="notice notice-warn" role="alert">
          {tokens.problem}
        </p>
      )}
      {(count === 0 || info?.demo.active) && <DemoOffer />}
      <ul class="token-list" aria-label="Tokens">
        {tokens.tokens.map((t) => (
          <TokenCard key={t.id} token={t} />
        ))}
      </ul>
      {tokens.modules.length > 0 && (
        <p class="muted small">PKCS#11 modules: {tokens.modules.join(', ')}</p>
      )}
    </div>
  );
}
