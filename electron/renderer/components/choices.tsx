import type { TokenView } from '../../../src/gui/types';

export type Hash = 'sha1' | 'sha256' | 'sha512';

/** The signature digest, with what each choice means for the phones. */
export function DigestSelect({ id, label = 'Digest', value, onChange }: { id: string; label?: string; value: Hash; onChange(value: Hash): void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value as Hash)}>
        <option value="sha1">SHA-1 (every phone)</option>
        <option value="sha256">SHA-256</option>
        <option value="sha512">SHA-512 (newer phones only)</option>
      </select>
    </div>
  );
}

/** A token that can sign (one with a SAST key pair), by label, saying which are logged in already. */
export function TokenSelect({ id, label, tokens, value, onChange }: { id: string; label: string; tokens: readonly TokenView[]; value: string; onChange(tokenId: string): void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">Choose a token</option>
        {tokens
          .filter((t) => t.sast)
          .map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
              {t.loggedIn ? ' (logged in)' : ''}
            </option>
          ))}
      </select>
    </div>
  );
}
