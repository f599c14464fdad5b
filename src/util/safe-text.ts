/**
 * Text from files and the network (certificate names, header filenames, TFTP error strings, HTTP reasons) is
 * untrusted: printed raw, a CN holding "\n" or ESC sequences can forge lines ("verified successfully"), hide the
 * real verdict (ESC[8m), retitle the terminal or reorder text (bidi overrides). Everything openctl prints to a
 * terminal goes through `safeLine`; values are also capped so that one field cannot flood the screen.
 */

/** C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
/** The same, keeping newline and tab: for whole lines of openctl's own layout. */
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/** The longest a single untrusted value is shown (a DN, a filename, a server message). */
export const MAX_VALUE_CHARS = 512;
/** The longest line of a text layout or an error (a line holds a few values and openctl's own words). */
export const MAX_LINE_CHARS = 4096;

/**
 * `\u001b` rather than `\x1b`: the same escape is valid inside a JSON string, so a line of JSON printed through
 * `out` (JSON.stringify leaves DEL, C1 controls and bidi characters raw) stays valid JSON with the same value.
 */
function escapeChar(ch: string): string {
  return `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`;
}

function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

/** One untrusted value, ready to be embedded in a line: every control escaped (newlines too), length capped. */
export function safeText(text: string, max = MAX_VALUE_CHARS): string {
  return cap(text.replace(UNSAFE, escapeChar), max);
}

/**
 * Text of openctl's own layout (may hold several lines, or be JSON): controls other than newline and tab escaped.
 * Not capped here (a cap would break a JSON document); values are capped where they are put into lines.
 */
export function safeLines(text: string): string {
  return text.replace(UNSAFE_IN_LINES, escapeChar);
}

/**
 * Join the lines of a text layout, each made safe on its own: a value holding "\n" stays inside its line as
 * `\x0a` instead of starting a line of its own (a forged "verified successfully").
 */
export function joinSafeLines(lines: readonly string[]): string {
  return lines.map((line) => safeText(line, MAX_LINE_CHARS)).join('\n');
}
