import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { GuiClient } from '../../src/gui/client';
import type { AppInfo, TokenView, TokensSnapshot } from '../../src/gui/types';
import { AppContext, SCREENS, type AppContextValue, type CtlDraftState, type Handoff, type ScreenId } from './context';
import { LoginDialog } from './components/login-dialog';
import { TokensScreen } from './screens/tokens';
import { ClusterScreen } from './screens/cluster';
import { CtlScreen } from './screens/ctl-builder';
import { InspectScreen } from './screens/inspect';
import { BatchScreen } from './screens/batch';
import { PlanScreen } from './screens/plan';
import { ItlScreen } from './screens/itl-builder';
import { SignScreen } from './screens/sign';
import { PreflightScreen } from './screens/preflight';
import { FetchScreen } from './screens/fetch';
import { TvsScreen, CapfScreen } from './screens/services';
import { errorMessage, folderOf, joinPath } from './util';

const LAST_DIR_KEY = 'openctl.lastOutputDir';

function storedDir(): string | undefined {
  try {
    return localStorage.getItem(LAST_DIR_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

const EMPTY_TOKENS: TokensSnapshot = { tokens: [], emptySlots: 0, modules: [], revision: -1 };

interface Toast {
  id: number;
  message: string;
  level: 'info' | 'error';
}

/**
 * The shell: navigation between the screens (Tokens first), the shared state (tokens, CTL draft), the log-in
 * dialog and the status line. Every screen stays mounted (hidden when not shown) so its work survives navigation.
 */
export function App({ api }: { api: GuiClient }) {
  const [screen, setScreen] = useState<ScreenId>('tokens');
  const [info, setInfo] = useState<AppInfo>();
  const [tokens, setTokens] = useState<TokensSnapshot>(EMPTY_TOKENS);
  const [draft, setDraftState] = useState<CtlDraftState>({ records: [] });
  const [loginToken, setLoginToken] = useState<TokenView>();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [lastDir, setLastDir] = useState<string | undefined>(storedDir);
  const [handoff, setHandoff] = useState<Handoff>({ seq: 0 });
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

  const rememberDir = useCallback((where: string, isFolder = false) => {
    const dir = isFolder ? where : folderOf(where);
    if (!dir) return;
    setLastDir(dir);
    try {
      localStorage.setItem(LAST_DIR_KEY, dir);
    } catch {
      /* private mode: remembered for this session only */
    }
  }, []);
  const outputDir = lastDir ?? info?.defaultDir ?? '';
  const openIn = useCallback((target: 'inspect' | 'preflight', files: string[]) => {
    setHandoff((h) => ({ seq: h.seq + 1, ...(target === 'inspect' ? { inspect: files[0] } : { preflightPhoneHas: files }) }));
    go(target);
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
      outputDir,
      rememberDir,
      suggest: (name: string) => (outputDir ? joinPath(outputDir, name, info?.platform) : ''),
      handoff,
      openIn,
    }),
    [api, info, tokens, draft, outputDir, handoff],
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
        <div class="scroll">
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
          <div id="screen-itl" hidden={screen !== 'itl'}>
            <ItlScreen />
          </div>
          <div id="screen-sign" hidden={screen !== 'sign'}>
            <SignScreen />
          </div>
          <div id="screen-fetch" hidden={screen !== 'fetch'}>
            <FetchScreen />
          </div>
          <div id="screen-preflight" hidden={screen !== 'preflight'}>
            <PreflightScreen />
          </div>
          <div id="screen-batch" hidden={screen !== 'batch'}>
            <BatchScreen />
          </div>
          <div id="screen-plan" hidden={screen !== 'plan'}>
            <PlanScreen />
          </div>
          <div id="screen-tvs" hidden={screen !== 'tvs'}>
            <TvsScreen />
          </div>
          <div id="screen-capf" hidden={screen !== 'capf'}>
            <CapfScreen />
          </div>
        </main>
        </div>
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
