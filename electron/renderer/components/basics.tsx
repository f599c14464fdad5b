import type { ComponentChildren } from 'preact';
import type { CertView, CheckView } from '../../../src/gui/types';
import { commonName, expiryText } from '../util';

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'error' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function ExpiryBadge({ cert }: { cert: Pick<CertView, 'expiry' | 'notAfter' | 'daysLeft'> }) {
  const tone = cert.expiry === 'expired' ? 'error' : cert.expiry === 'soon' ? 'warn' : 'ok';
  return <Badge tone={tone}>{expiryText(cert)}</Badge>;
}

/** One certificate: CN first, then the facts an admin compares (issuer, serial, key, dates, SHA-1). */
export function CertSummary({ cert, compact = false }: { cert: CertView; compact?: boolean }) {
  if (compact) {
    return (
      <span class="cert-compact">
        <span class="cert-cn">{commonName(cert.subject)}</span> <ExpiryBadge cert={cert} />
      </span>
    );
  }
  return (
    <dl class="facts">
      <dt>Subject</dt>
      <dd class="mono">{cert.subject}</dd>
      <dt>Issuer</dt>
      <dd class="mono">{cert.issuer}</dd>
      <dt>Serial</dt>
      <dd class="mono">{cert.serialHex}</dd>
      <dt>Key</dt>
      <dd>
        {cert.keyAlgorithm} {cert.keyBits} bits
      </dd>
      <dt>Validity</dt>
      <dd>
        {cert.notBefore.slice(0, 10)} to {cert.notAfter.slice(0, 10)} <ExpiryBadge cert={cert} />
      </dd>
      <dt>SHA-1</dt>
      <dd class="mono">{cert.sha1}</dd>
    </dl>
  );
}

const LEVEL_TEXT = { error: 'Error', warning: 'Warning', ok: 'OK' } as const;

export function Checks({ checks, label }: { checks: CheckView[]; label: string }) {
  if (checks.length === 0) return null;
  return (
    <ul class="checks" aria-label={label}>
      {checks.map((c, i) => (
        <li key={i} class={`check check-${c.level}`}>
          <span class="check-level">{LEVEL_TEXT[c.level]}:</span> {c.message}
        </li>
      ))}
    </ul>
  );
}

export function Section({ title, id, children, actions }: { title: string; id: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h3 id={id}>{title}</h3>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function ErrorLine({ message }: { message?: string }) {
  if (!message) return null;
  return (
    <p class="error-line" role="alert">
      {message}
    </p>
  );
}
