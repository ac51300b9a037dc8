// A tiny runtime validator for arguments that cross a process boundary.
// Every contract method declares its argument schema with these helpers; main
// validates before any service runs, so a malformed call from the renderer (or an
// HTTP client) fails with a message naming the field, and touches nothing.

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

export type Check<T> = (value: unknown, path: string) => T;

/** The checked object's type: fields whose check may yield undefined (v.optional) are optional keys. */
type OptionalKeys<S> = { [K in keyof S]: S[K] extends Check<infer T> ? (undefined extends T ? K : never) : never }[keyof S];
type ObjectOf<S extends Record<string, Check<unknown>>> = {
  [K in Exclude<keyof S, OptionalKeys<S>>]: ReturnType<S[K]>;
} & { [K in OptionalKeys<S>]?: ReturnType<S[K]> } extends infer O
  ? { [K in keyof O]: O[K] }
  : never;

/** A short preview of a refused value; never throws (a value nested 100,000 deep overflows JSON.stringify's stack). */
function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value)?.slice(0, 60) ?? String(value);
  } catch {
    return Array.isArray(value) ? 'an array too deeply nested to show' : 'a value too deeply nested to show';
  }
}

function fail(path: string, expected: string, value: unknown): never {
  throw new ValidationError(`${path}: expected ${expected}, got ${preview(value)}`);
}

export const v = {
  string(opts: { min?: number; max?: number } = {}): Check<string> {
    const { min = 0, max = 4096 } = opts;
    return (value, path) => {
      if (typeof value !== 'string') fail(path, 'a string', value);
      if (value.length < min || value.length > max) fail(path, `a string of ${min}-${max} characters`, value);
      return value;
    };
  },
  int(opts: { min?: number; max?: number } = {}): Check<number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
    return (value, path) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'an integer', value);
      if (value < min || value > max) fail(path, `an integer in [${min}, ${max}]`, value);
      return value;
    };
  },
  number(opts: { min?: number; max?: number } = {}): Check<number> {
    const { min = -Infinity, max = Infinity } = opts;
    return (value, path) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a finite number', value);
      if (value < min || value > max) fail(path, `a number in [${min}, ${max}]`, value);
      return value;
    };
  },
  boolean(): Check<boolean> {
    return (value, path) => {
      if (typeof value !== 'boolean') fail(path, 'true or false', value);
      return value;
    };
  },
  literal<const T extends string | number>(...allowed: T[]): Check<T> {
    return (value, path) => {
      if (!allowed.includes(value as T)) fail(path, `one of ${allowed.join(', ')}`, value);
      return value as T;
    };
  },
  optional<T>(check: Check<T>): Check<T | undefined> {
    return (value, path) => (value === undefined || value === null ? undefined : check(value, path));
  },
  array<T>(item: Check<T>, opts: { min?: number; max?: number } = {}): Check<T[]> {
    const { min = 0, max = 10_000 } = opts;
    return (value, path) => {
      if (!Array.isArray(value)) fail(path, 'an array', value);
      if (value.length > max) fail(path, `an array of at most ${max} items`, `${value.length} items`);
      if (value.length < min) fail(path, `an array of at least ${min} item${min === 1 ? '' : 's'}`, `${value.length} items`);
      return value.map((x, i) => item(x, `${path}[${i}]`));
    };
  },
  tuple3(item: Check<number>): Check<[number, number, number]> {
    return (value, path) => {
      if (!Array.isArray(value) || value.length !== 3) fail(path, 'an array of 3 numbers', value);
      return [item(value[0], `${path}[0]`), item(value[1], `${path}[1]`), item(value[2], `${path}[2]`)];
    };
  },
  object<S extends Record<string, Check<unknown>>>(shape: S): Check<ObjectOf<S>> {
    return (value, path) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
      const input = value as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        // own keys only: `in` would let constructor, __proto__, toString ... through as if absent
        if (!Object.hasOwn(shape, key)) throw new ValidationError(`${path}.${key}: unknown field`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, check] of Object.entries(shape)) {
        const checked = check(input[key], `${path}.${key}`);
        if (checked !== undefined) out[key] = checked;
      }
      return out as ObjectOf<S>;
    };
  },
};
