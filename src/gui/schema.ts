/**
 * Runtime validators for the GUI contract's requests, with their TypeScript types inferred from them, so a request
 * type is written once. Requests come from a renderer or a browser: they are untrusted until parsed here.
 * Deliberately small (no dependency in the renderer bundle): strings, numbers, booleans, literals, arrays, objects,
 * unions. Unknown object keys are rejected, so a typo in the renderer fails loudly instead of being ignored.
 */

export class ValidationError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path || 'request'}: ${problem}`);
    this.name = 'ValidationError';
  }
}

export interface Schema<T> {
  /** Returns the value typed, or throws ValidationError naming the JSON path. */
  parse(value: unknown, path?: string): T;
  /** Optional members of an object schema are marked here. */
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface StringOptions {
  min?: number;
  max?: number;
  pattern?: RegExp;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function string(options: StringOptions = {}): Schema<string> {
  const { min = 0, max = 4096, pattern } = options;
  return {
    parse(value, path = '') {
      if (typeof value !== 'string') throw new ValidationError(path, `expected a string, got ${describe(value)}`);
      if (value.length < min) throw new ValidationError(path, min === 1 ? 'must not be empty' : `shorter than ${min}`);
      if (value.length > max) throw new ValidationError(path, `longer than ${max} characters`);
      if (pattern && !pattern.test(value)) throw new ValidationError(path, `does not match ${pattern}`);
      return value;
    },
  };
}

function integer(options: { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return {
    parse(value, path = '') {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new ValidationError(path, `expected an integer, got ${describe(value)}`);
      }
      if (value < min || value > max) throw new ValidationError(path, `must be between ${min} and ${max}`);
      return value;
    },
  };
}

function boolean(): Schema<boolean> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'boolean') throw new ValidationError(path, `expected a boolean, got ${describe(value)}`);
      return value;
    },
  };
}

function literal<const L extends readonly (string | number | boolean)[]>(...values: L): Schema<L[number]> {
  return {
    parse(value, path = '') {
      if (!values.includes(value as L[number])) {
        throw new ValidationError(path, `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
      }
      return value as L[number];
    },
  };
}

export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    parse(value, path = '') {
      return value === undefined || value === null ? undefined : inner.parse(value, path);
    },
  };
}

function array<T>(item: Schema<T>, options: { min?: number; max?: number } = {}): Schema<T[]> {
  const { min = 0, max = 10_000 } = options;
  return {
    parse(value, path = '') {
      if (!Array.isArray(value)) throw new ValidationError(path, `expected an array, got ${describe(value)}`);
      if (value.length > max) throw new ValidationError(path, `more than ${max} items`);
      if (value.length < min) throw new ValidationError(path, min === 1 ? 'must not be empty' : `fewer than ${min} items`);
      return value.map((v, i) => item.parse(v, `${path}[${i}]`));
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

function object<S extends Shape>(shape: S): Schema<{ [K in keyof ObjectOf<S>]: ObjectOf<S>[K] }> {
  return {
    parse(value, path = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ValidationError(path, `expected an object, got ${describe(value)}`);
      }
      const input = value as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        if (!Object.prototype.hasOwnProperty.call(shape, key)) throw new ValidationError(join(path, key), 'unknown field');
      }
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(shape)) {
        if (input[key] === undefined && !schema.optional) throw new ValidationError(join(path, key), 'is required');
        const parsed = schema.parse(input[key], join(path, key));
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as { [K in keyof ObjectOf<S>]: ObjectOf<S>[K] };
    },
  };
}

/** A union told apart by trying each member in turn; the error names the last member's problem. */
function union<T extends readonly Schema<unknown>[]>(...members: T): Schema<Infer<T[number]>> {
  return {
    parse(value, path = '') {
      const problems: string[] = [];
      for (const member of members) {
        try {
          return member.parse(value, path) as Infer<T[number]>;
        } catch (err) {
          problems.push(err instanceof ValidationError ? err.problem : String(err));
        }
      }
      throw new ValidationError(path, `matches no accepted shape (${problems.join('; ')})`);
    },
  };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export const s = { string, integer, boolean, literal, optional, array, object, union };
