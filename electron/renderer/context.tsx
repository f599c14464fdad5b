import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { GuiClient } from '../../src/gui/client';
import type { DraftRecord, FileSource } from '../../src/gui/contract';
import type { AppInfo, CurrentCtlView, TokenView, TokensSnapshot } from '../../src/gui/types';

export type ScreenId = 'tokens' | 'cluster' | 'ctl' | 'inspect' | 'batch' | 'plan';

export const SCREENS: ReadonlyArray<{ id: ScreenId; title: string }> = [
  { id: 'tokens', title: 'Tokens' },
  { id: 'cluster', title: 'Cluster' },
  { id: 'ctl', title: 'CTL builder' },
  { id: 'inspect', title: 'Inspect' },
  { id: 'batch', title: 'Batch' },
  { id: 'plan', title: 'Rollout plan' },
];

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
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside AppContext');
  return value;
}
