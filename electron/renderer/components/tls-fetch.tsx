import { useState } from 'preact/hooks';
import type { CertView } from '../../../src/gui/types';
import { useApp } from '../context';
import { CertSummary } from './basics';
import { errorMessage } from '../util';

export interface TlsFetchProps {
  /** Prefix of the fields' ids: `${id}-host`, `${id}-port`. */
  id: string;
  /** The form's accessible name and the host field's label. */
  formLabel: string;
  hostLabel: string;
  /** The bold line above the certificate: "HOST:PORT presented this certificate. ..." follows `where`. */
  compareText: string;
  acceptLabel: string;
  testId: string;
  onAccept(cert: CertView, where: string): void;
  onError(message: string): void;
}

/**
 * A server's TLS certificate for a list or a store: fetch it, show it, and take it only once the person says the
 * fingerprint matches the one the server's administrator sees (nothing presented over TLS is trusted as such).
 */
export function TlsCertificateFetch({ id, formLabel, hostLabel, compareText, acceptLabel, testId, onAccept, onError }: TlsFetchProps) {
  const { api } = useApp();
  const [host, setHost] = useState('');
  const [port, setPort] = useState('443');
  const [busy, setBusy] = useState(false);
  const [fetched, setFetched] = useState<{ cert: CertView; where: string }>();
  const fetchCert = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const chain = await api.fetchTlsCertificate({ host: host.trim(), port: Number(port) });
      setFetched({ cert: chain[0]!, where: `${host.trim()}:${port}` });
    } catch (err) {
      onError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <form class="row-wrap" onSubmit={fetchCert} aria-label={formLabel}>
        <div class="field">
          <label for={`${id}-host`}>{hostLabel}</label>
          <input id={`${id}-host`} type="text" autocomplete="off" value={host} onInput={(e) => setHost((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for={`${id}-port`}>Port</label>
          <input id={`${id}-port`} type="number" min={1} max={65535} value={port} onInput={(e) => setPort((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" disabled={busy || !host.trim()}>
          {busy ? 'Fetching…' : 'Fetch over TLS'}
        </button>
      </form>
      {fetched && (
        <div class="notice notice-warn" role="alert" data-testid={testId}>
          <p>
            <strong>
              {fetched.where} presented this certificate. {compareText}
            </strong>
          </p>
          <CertSummary cert={fetched.cert} />
          <div class="actions">
            <button
              type="button"
              class="primary"
              onClick={() => {
                onAccept(fetched.cert, fetched.where);
                setFetched(undefined);
              }}
            >
              {acceptLabel}
            </button>
            <button type="button" onClick={() => setFetched(undefined)}>
              Discard
            </button>
          </div>
        </div>
      )}
    </>
  );
}
