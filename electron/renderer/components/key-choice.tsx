import { useRef } from 'preact/hooks';
import type { PlanKey } from '../../../src/gui/contract';
import { useApp } from '../context';
import { PathField } from './file-picker';
import { TokenSelect } from './choices';
import { uid } from '../util';

/** A signing key as a form holds it: a token from the list, or a PEM file (key and certificate) by path. */
export interface KeyChoiceState {
  kind: 'pem' | 'token';
  pem: string;
  tokenId: string;
}
export const NO_KEY_CHOICE: KeyChoiceState = { kind: 'token', pem: '', tokenId: '' };

export function keyOfChoice(choice: KeyChoiceState): PlanKey | undefined {
  if (choice.kind === 'token') return choice.tokenId ? { tokenId: choice.tokenId } : undefined;
  return choice.pem.trim() ? { pem: choice.pem.trim() } : undefined;
}

/** The token a choice names when it is not logged in yet (its log-in comes first). */
export function tokenNeedingLogin(choice: KeyChoiceState, tokens: ReturnType<typeof useApp>['tokens']) {
  if (choice.kind !== 'token') return undefined;
  const token = tokens.tokens.find((t) => t.id === choice.tokenId);
  return token && !token.loggedIn ? token : undefined;
}

export function KeyChoice({ legend, name, value, onChange, hint }: { legend: string; name: string; value: KeyChoiceState; onChange(next: KeyChoiceState): void; hint?: string }) {
  const { tokens } = useApp();
  const id = useRef(uid(name)).current;
  return (
    <fieldset class="key-field" data-field={name}>
      <legend>{legend}</legend>
      {hint && <p class="muted small">{hint}</p>}
      <div class="row">
        <label class="check-row">
          <input type="radio" name={`${id}-kind`} checked={value.kind === 'token'} onChange={() => onChange({ ...value, kind: 'token' })} />
          Token
        </label>
        <label class="check-row">
          <input type="radio" name={`${id}-kind`} checked={value.kind === 'pem'} onChange={() => onChange({ ...value, kind: 'pem' })} />
          PEM file
        </label>
      </div>
      {value.kind === 'pem' ? (
        <PathField label={`${legend}: PEM file (path)`} name={`${name}-pem`} kind="open" value={value.pem} onChange={(pem) => onChange({ ...value, pem })} />
      ) : (
        <TokenSelect id={`${id}-token`} label={`${legend}: token`} tokens={tokens.tokens} value={value.tokenId} onChange={(tokenId) => onChange({ ...value, tokenId })} />
      )}
    </fieldset>
  );
}
