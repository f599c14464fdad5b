import { FormatError, OpenctlError } from '../util/errors';
import type { Element } from './model';

/**
 * The element codec: `tag (1) | length (2, BE) | value`, plus the one exception, the header padding byte
 * (tag 13, no length, no value) that only exists at the header's top level. Reading checks every bound and
 * throws FormatError with the byte offset; it never loops without consuming bytes.
 */

export const PADDING_TAG = 13;
export const ELEMENT_HEADER = 3;
export const MAX_VALUE_LENGTH = 0xffff;

/** Header tags whose value is more elements. Records have no containers. */
export const HEADER_CONTAINERS: ReadonlySet<number> = new Set([3, 7, 9, 16, 17, 21]);

/** Where a run of elements must stop, and how to name that limit in an error. */
export interface Bound {
  end: number;
  /** e.g. `the file`, `the header (header length 480)`, `container tag 3`, `the record at byte 480`. */
  name: string;
}

export interface ReadOptions {
  containers?: ReadonlySet<number>;
  /** Accept the 1-byte padding element (header top level only). */
  padding?: boolean;
}

/** Read the element that starts at `offset` and must end within `bound`. */
export function readElement(buf: Buffer, offset: number, bound: Bound, options: ReadOptions = {}): Element {
  const tag = buf[offset];
  if (tag === undefined || offset >= bound.end) {
    throw new FormatError(`expected an element, found the end of ${bound.name}`, offset);
  }
  if (tag === PADDING_TAG && options.padding) {
    return { tag, offset, value: buf.subarray(offset, offset), padding: true };
  }
  if (bound.end - offset < ELEMENT_HEADER) {
    const left = bound.end - offset;
    throw new FormatError(
      `truncated element (tag ${tag}): ${left} byte${left === 1 ? '' : 's'} left in ${bound.name}, an element needs at least 3`,
      offset,
    );
  }
  const length = buf.readUInt16BE(offset + 1);
  const valueEnd = offset + ELEMENT_HEADER + length;
  if (valueEnd > bound.end) {
    const where = bound.name === 'the file' ? 'runs past the end of the file' : `overruns ${bound.name}`;
    throw new FormatError(`element tag ${tag} of length ${length} ${where} (ends at byte ${valueEnd}, limit ${bound.end})`, offset);
  }
  const value = buf.subarray(offset + ELEMENT_HEADER, valueEnd);
  const element: Element = { tag, offset, value };
  if (options.containers?.has(tag)) {
    element.children = readElements(buf, offset + ELEMENT_HEADER, { end: valueEnd, name: `container tag ${tag} at byte ${offset}` }, {
      containers: options.containers,
    });
  }
  return element;
}

/** Read elements from `start` until they exactly fill `bound`. */
export function readElements(buf: Buffer, start: number, bound: Bound, options: ReadOptions = {}): Element[] {
  const elements: Element[] = [];
  let offset = start;
  while (offset < bound.end) {
    const element = readElement(buf, offset, bound, options);
    elements.push(element);
    offset = elementEnd(element);
  }
  return elements;
}

/** The offset just past an element (padding bytes are one byte long). */
export function elementEnd(element: Element): number {
  return element.offset + encodedLength(element);
}

export function encodedLength(element: Element): number {
  if (element.padding) return 1;
  const valueLength = element.children ? element.children.reduce((n, c) => n + encodedLength(c), 0) : element.value.length;
  return ELEMENT_HEADER + valueLength;
}

/** Serialize elements; containers are re-encoded from their children, so the model, not a byte copy, is written. */
export function encodeElements(elements: readonly Element[]): Buffer {
  const parts: Buffer[] = [];
  for (const element of elements) appendElement(parts, element);
  return Buffer.concat(parts);
}

function appendElement(parts: Buffer[], element: Element): void {
  if (element.padding) {
    parts.push(Buffer.of(PADDING_TAG));
    return;
  }
  const value = element.children ? encodeElements(element.children) : element.value;
  parts.push(elementHeader(element.tag, value.length), value);
}

function elementHeader(tag: number, length: number): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff) throw new OpenctlError(`cannot write element tag ${tag}: tags are one byte`);
  if (length > MAX_VALUE_LENGTH) {
    throw new OpenctlError(`cannot write element tag ${tag}: its value is ${length} bytes, the format allows at most ${MAX_VALUE_LENGTH}`);
  }
  const header = Buffer.alloc(ELEMENT_HEADER);
  header[0] = tag;
  header.writeUInt16BE(length, 1);
  return header;
}

/** A new leaf element (offset 0: it is placed when encoded). */
export function leaf(tag: number, value: Buffer): Element {
  elementHeader(tag, value.length); // validates tag and length early, where the caller can be named
  return { tag, offset: 0, value };
}

/** A new container element. */
export function container(tag: number, children: Element[]): Element {
  const value = encodeElements(children);
  elementHeader(tag, value.length);
  return { tag, offset: 0, value, children };
}

export function paddingElement(): Element {
  return { tag: PADDING_TAG, offset: 0, value: Buffer.alloc(0), padding: true };
}

/** The first element with `tag` (a depth-first search is never needed: callers walk containers explicitly). */
export function findTag(elements: readonly Element[] | undefined, tag: number): Element | undefined {
  return elements?.find((e) => e.tag === tag && !e.padding);
}
