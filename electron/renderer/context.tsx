import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { GuiClient } from '../../src/gui/client';
import type { DraftRecord, FileSource } from '../../src/gui/contract';
import type { AppInfo, CurrentCtlView, TokenView, TokensSnapshot } from '../../src/gui/types';

export type ScreenId = 'tokens' | 'cluster' | 'ctl' | 'itl' | 'sign' | 'inspect' | 'fetch' | 'preflight' | 'batch' | 'plan' | 'tvs' | 'capf';

export const SCREENS: ReadonlyArray<{ id: ScreenId; title: string }> = [
  { id: 'tokens', title: 'Tokens' },
  { id: 'cluster', title: 'Cluster' },
  { id: 'ctl', title: 'CTL builder' },
  { id: 'itl', title: 'ITL builder' },
  { id: 'sign', title: 'Sign' },
  { id: 'inspect', title: 'Inspect' },
  { id: 'fetch', title: 'Fetch' },
  { id: 'preflight', title: 'Preflight' },
  { id: 'batch', title: 'Batch' },
  { id: 'plan', title: 'Rollout plan' },
  { id: 'tvs', title: 'TVS' },
  { id: 'capf', title: 'CAPF' },
];

/** A file handed from one screen to another (Fetch → Inspect, Fetch → Preflight); `seq` makes each hand-off new. */
export interface Handoff {
  seq: number;
  inspect?: string;
  preflightPhoneHas?: string[];
}

/** The CTL builder's draft lives above the screens: the cluster and tokens screens add to it. */
export interface CtlDraftState {
  records: DraftRecord[];
  current?: { source: FileSource; view: CurrentCtlView };
}

export interface AppContextValue {
  api: GuiClient;
  info?: AppInfo;
  refreshInfo(): Promise<void>;
  tokens: TokensSnapshot;
  refreshTokens(): Promise<void>;
  notify(message: string, level?: 'info' | 'error'): void;
  go(screen: ScreenId): void;
  draft: CtlDraftState;
  setDraft(update: (draft: CtlDraftState) => CtlDraftState): void;
  /** Open the shared log-in dialog for a token. */
  login(token: TokenView): void;
  /** The folder to suggest for outputs: the last one used, else the user's documents folder. */
  outputDir: string;
  /** Remember the folder of a path just written (or read) as the last one used. */
  rememberDir(pathOrFolder: string, isFolder?: boolean): void;
  /** A path in the suggested folder. */
  suggest(name: string): string;
  handoff: Handoff;
  openIn(screen: 'inspect' | 'preflight', files: string[]): void;
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside AppContext');
  return value;
}
