/** A trust list's kind with its article, for messages: "a CTL", "an ITL". */
export function aList(kind: 'ctl' | 'itl'): string {
  return kind === 'ctl' ? 'a CTL' : 'an ITL';
}
