import { useEffect, useRef, useState } from 'preact/hooks';
import type { LoginResult, TokenView } from '../../../src/gui/types';
import { useApp } from '../context';
import { errorMessage } from '../util';

/**
 * Log in to a token. The PIN field is uncontrolled: its value is read once on submit, cleared at once, and sent
 * straight to the service, so the PIN never sits in the renderer's state. A PIN-pad reader gets no field at all.
 * Tries-left warnings come from the token's flags; before the final try the person must confirm.
 */
export function LoginDialog({ token, onClose }: { token?: TokenView; onClose(): void }) {
  const { api, notify, refreshTokens } = useApp();
  const dialog = useRef<HTMLDialogElement>(null);
  const pinInput = useRef<HTMLInputElement>(null);
  const [result, setResult] = useState<LoginResult | undefined>();
  const [busy, setBusy] = useState(false);
  const [confirmFinal, setConfirmFinal] = useState(false);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    setResult(undefined);
    setConfirmFinal(false);
    if (token && !d.open) d.showModal();
    if (!token && d.open) d.close();
  }, [token?.id]);

  const flags = token?.flags;
  const pinPad = Boolean(flags?.pinPad);
  const locked = Boolean(flags?.pinLocked || result?.locked);
  const finalTry = Boolean(flags?.pinFinalTry || result?.finalTry);
  const countLow = Boolean(flags?.pinCountLow || result?.pinCountLow);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!token || busy) return;
    const pin = pinPad ? undefined : (pinInput.current?.value ?? '');
    if (pinInput.current) pinInput.current.value = '';
    if (!pinPad && !pin) return;
    setBusy(true);
    try {
      const answer = await api.login({ tokenId: token.id, pin, confirmFinalTry: confirmFinal || undefined });
      if (answer.loggedIn) {
        notify(answer.message);
        onClose();
        // Ask for the new state rather than wait for the service's event: an event stream that dropped and
        // reconnected meanwhile would leave the card saying "login required" (as logout does).
        await refreshTokens();
      } else {
        setResult(answer);
        pinInput.current?.focus();
      }
    } catch (err) {
      setResult({ loggedIn: false, message: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby="login-title"
      onClose={() => {
        if (token) onClose();
      }}
    >
      {token && (
        <form onSubmit={submit}>
          <h2 id="login-title">Log in to {token.label}</h2>
          <p class="muted">
            {token.model} · serial {token.serial}
          </p>
          {locked && (
            <p class="notice notice-error" role="alert">
              This token's PIN is locked. Unlock it with its administrator (SO) PIN in the vendor's tool.
            </p>
          )}
          {!locked && finalTry && (
            <div class="notice notice-error" role="alert">
              <p>Final try: one more wrong PIN locks this token for good.</p>
              <label class="check-row">
                <input type="checkbox" checked={confirmFinal} onChange={(e) => setConfirmFinal((e.target as HTMLInputElement).checked)} />
                I am sure of the PIN: try it
              </label>
            </div>
          )}
          {!locked && !finalTry && countLow && !result && (
            <p class="notice notice-warn" role="alert">
              A wrong PIN was entered before: fewer tries are left before the token locks.
            </p>
          )}
          {result && !result.loggedIn && (
            <p class="notice notice-error" role="alert" data-testid="login-error">
              {result.message}
            </p>
          )}
          {pinPad ? (
            <p class="notice notice-info">This reader has a PIN pad: choose Log in, then type the PIN on the reader.</p>
          ) : (
            <div class="field">
              <label for="login-pin">PIN</label>
              <input id="login-pin" ref={pinInput} type="password" autocomplete="off" autofocus disabled={locked} />
            </div>
          )}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy || locked || (finalTry && !confirmFinal)}>
              {busy ? 'Logging in…' : 'Log in'}
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
