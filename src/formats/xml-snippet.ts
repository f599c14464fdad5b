/**
 * Just enough XML for the encrypted-config stub: find a named element in a phone config and re-indent it.
 * Phone configs are flat, machine-written XML (no DTD, no CDATA in these elements), so a tokenizer suffices.
 */

/** The first `<name ...>...</name>` or `<name/>` element, as written, or undefined. */
export function findElement(xml: string, name: string): string | undefined {
  const open = new RegExp(`<${name}(\\s[^>]*)?(/?)>`);
  const m = open.exec(xml);
  if (!m) return undefined;
  if (m[2] === '/') return m[0];
  const close = `</${name}>`;
  let depth = 1;
  const token = new RegExp(`<(/?)${name}(\\s[^>]*)?(/?)>`, 'g');
  token.lastIndex = m.index + m[0].length;
  for (let t = token.exec(xml); t; t = token.exec(xml)) {
    if (t[3] === '/') continue;
    depth += t[1] === '/' ? -1 : 1;
    if (depth === 0) return xml.slice(m.index, t.index + close.length);
  }
  return undefined;
}

type Token = { kind: 'open' | 'close' | 'empty' | 'other'; text: string } | { kind: 'text'; text: string };

function tokenize(xml: string): Token[] {
  const tokens: Token[] = [];
  const re = /<!--[\s\S]*?-->|<[^>]*>|[^<]+/g;
  for (const m of xml.matchAll(re)) {
    const text = m[0];
    if (!text.startsWith('<')) {
      if (text.trim() !== '') tokens.push({ kind: 'text', text: text.trim() });
    } else if (text.startsWith('</')) tokens.push({ kind: 'close', text });
    else if (text.startsWith('<!') || text.startsWith('<?')) tokens.push({ kind: 'other', text });
    else if (text.endsWith('/>')) tokens.push({ kind: 'empty', text });
    else tokens.push({ kind: 'open', text });
  }
  return tokens;
}

/**
 * One element per line, two spaces per level, starting at `level`; an element holding only text stays on one
 * line (`<phonePort>3804</phonePort>`), as in CUCM's stub configs.
 */
export function indentElement(xml: string, level: number): string {
  const tokens = tokenize(xml);
  const lines: string[] = [];
  const pad = (n: number) => '  '.repeat(n);
  let depth = level;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    const after = tokens[i + 2];
    if (t.kind === 'open' && next?.kind === 'text' && after?.kind === 'close') {
      lines.push(`${pad(depth)}${t.text}${next.text}${after.text}`);
      i += 2;
    } else if (t.kind === 'open' && next?.kind === 'close') {
      lines.push(`${pad(depth)}${t.text}${next.text}`);
      i += 1;
    } else if (t.kind === 'open') {
      lines.push(`${pad(depth)}${t.text}`);
      depth++;
    } else if (t.kind === 'close') {
      depth = Math.max(level, depth - 1);
      lines.push(`${pad(depth)}${t.text}`);
    } else {
      lines.push(`${pad(depth)}${t.text}`);
    }
  }
  return lines.join('\n');
}
