import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { GuiClient } from '../../src/gui/client';
import type { AppInfo, TokenView, TokensSnapshot } from '../../src/gui/types';
import { AppContext, SCREENS, type AppContextValue, type CtlDraftState, type ScreenId } from './context';
import { LoginDialog } from './components/login-dialog';
import { TokensScreen } from './screens/tokens';
import { ClusterScreen } from './screens/cluster';
import { CtlScreen } from './screens/ctl-builder';
import { InspectScreen } from './screens/inspect';
import { BatchScreen } from './screens/batch';
import { PlanScreen } from './screens/plan';
import { errorMessage } from './util';

const EMPTY_TOKENS: TokensSnapshot = { tokens: [], emptySlots: 0, modules: [], revision: -1 };

interface Toast {
  id: number;
  message: string;
  level: 'info' | 'error';
}

/**
 * The shell: navigation between the six screens (Tokens first), the shared state (tokens, CTL draft), the log-in
 * dialog and the status line. Every screen stays mounted (hidden when not shown) so its work survives navigation.
 */
export function App({ api }: { api: GuiClient }) {
  const [screen, setScreen] = useState<ScreenId>('tokens');
  const [info, setInfo] = useState<AppInfo>();
  const [tokens, setTokens] = useState<TokensSnapshot>(EMPTY_TOKENS);
  const [draft, setDraftState] = useState<CtlDraftState>({ records: [] });
  const [loginToken, setLoginToken] = useState<TokenView>();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const mainRef = useRef<HTMLElement>(null);
  const toastId = useRef(0);

  const notify = useCallback((message: string, level: 'info' | 'error' = 'info') => {
    toastId.current += 1;
    const id = toastId.current;
    setToasts((list) => [...list.slice(-1), { id, message, level }]);
    setTimeout(() => setToasts((list) => list.filter((t) => t.id !== id)), level === 'error' ? 10_000 : 4_000);
  }, []);

  const acceptTokens = useCallback((snapshot: TokensSnapshot) => {
    setTokens((current) => (snapshot.revision >= current.revision ? snapshot : current));
  }, []);

  const refreshTokens = useCallback(async () => {
    try {
      acceptTokens(await api.listTokens({}));
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  }, [api]);

  const refreshInfo = useCallback(async () => {
    try {
      setInfo(await api.appInfo({}));
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  }, [api]);

  useEffect(() => {
    const off = api.on('tokens', acceptTokens);
    void refreshInfo();
    void refreshTokens();
    return off;
  }, [api]);

  // Keep the token in the log-in dialog current (flags change after a wrong PIN; it may be removed).
  useEffect(() => {
    // Functional update: a dialog closed meanwhile (log-in done) must stay closed.
    setLoginToken((current) => (current ? tokens.tokens.find((t) => t.id === current.id) : undefined));
  }, [tokens]);

  const go = useCallback((next: ScreenId) => {
    setScreen(next);
    // Move focus to the new screen's heading region so keyboard and screen-reader users land in it.
    requestAnimationFrame(() => mainRef.current?.querySelector<HTMLElement>(`#screen-${next} h2`)?.focus());
  }, []);

  const context: AppContextValue = useMemo(
    () => ({
      api,
      info,
      refreshInfo,
      tokens,
      refreshTokens,
      notify,
      go,
      draft,
      setDraft: (update) => setDraftState((d) => update(d)),
      login: (token) => setLoginToken(token),
    }),
    [api, info, tokens, draft],
  );

  return (
    <AppContext.Provider value={context}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="shell">
        <header class="topbar">
          <p class="brand">
            openctl <span class="muted">CTL Client</span>
          </p>
          <nav aria-label="Screens">
            <ul class="nav">
              {SCREENS.map((s) => (
                <li key={s.id}>
                  <button
                    type="button"
                    class="nav-item"
                    id={`nav-${s.id}`}
                    aria-current={screen === s.id ? 'page' : undefined}
                    onClick={() => go(s.id)}
                  >
                    {s.title}
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          <p class="mode muted">{info ? (info.mode === 'web' ? 'web mode · 127.0.0.1' : 'desktop') : ''}</p>
        </header>
        <main id="main" ref={mainRef} tabIndex={-1}>
          <div id="screen-tokens" hidden={screen !== 'tokens'}>
            <TokensScreen />
          </div>
          <div id="screen-cluster" hidden={screen !== 'cluster'}>
            <ClusterScreen />
          </div>
          <div id="screen-ctl" hidden={screen !== 'ctl'}>
            <CtlScreen />
          </div>
          <div id="screen-inspect" hidden={screen !== 'inspect'}>
            <InspectScreen />
          </div>
          <div id="screen-batch" hidden={screen !== 'batch'}>
            <BatchScreen />
          </div>
          <div id="screen-plan" hidden={screen !== 'plan'}>
            <PlanScreen />
          </div>
        </main>
        <div class="toasts" role="status" aria-live="polite">
          {toasts.map((t) => (
            <p key={t.id} class={`toast toast-${t.level}`}>
              {t.message}
            </p>
          ))}
        </div>
      </div>
      <LoginDialog token={loginToken} onClose={() => setLoginToken(undefined)} />
    </AppContext.Provider>
  );
}
