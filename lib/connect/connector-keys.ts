import { ConfigError } from '../errors';

// Reading Kafka Connect connector files (sinks and sources alike): the REST body or flat
// properties, every key checked against a table, every problem reported at once.

/** How one key of a connector file is checked: a problem message, or undefined when valid. */
export type KeyCheck = (value: string, key: string) => string | undefined;

/**
 * The keys a connector file may hold. `accepted` keys are Kafka Connect's own that medstream has no
 * use for (credentials, converters); every other key is read. A key absent from the table is an
 * error, so a typo never silently changes what the source does.
 */
export type KeyTable = Record<string, { accepted?: true; check?: KeyCheck }>;

/** A connector file flattened to its string values, with the problems found so far. */
export type ParsedKeys = { values: Record<string, string>; problems: string[] };

export const oneOf =
  (...allowed: readonly string[]): KeyCheck =>
  (value, key) =>
    allowed.includes(value) ? undefined : `${key} must be one of ${allowed.join(', ')} (got "${value}")`;

export const isBoolean: KeyCheck = (value, key) =>
  value === 'true' || value === 'false' ? undefined : `${key} must be true or false (got "${value}")`;

export const isPositiveInt: KeyCheck = (value, key) =>
  /^[1-9][0-9]*$/.test(value) ? undefined : `${key} must be a positive integer (got "${value}")`;

export const isNonNegativeInt: KeyCheck = (value, key) =>
  /^[0-9]+$/.test(value) ? undefined : `${key} must be a non-negative integer (got "${value}")`;

export const isNonEmpty: KeyCheck = (value, key) =>
  value.length > 0 ? undefined : `${key} must not be empty`;

// Levenshtein distance, for "did you mean" on a mistyped key.
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
};

const suggestionFor = (key: string, keys: KeyTable): string => {
  const best = Object.keys(keys)
    .map((known) => ({ known, cost: distance(key, known) }))
    .sort((x, y) => x.cost - y.cost)[0];
  return best !== undefined && best.cost <= 3 ? ` (did you mean "${best.known}"?)` : '';
};

/** Kafka Connect accepts both the REST body `{name, config}` and a flat properties object. */
const flatten = (input: unknown, source: string): Record<string, unknown> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`${source}: a connector config must be a JSON object`);
  }
  const object = input as Record<string, unknown>;
  if (!('config' in object)) return object;
  const extra = Object.keys(object).filter((key) => key !== 'name' && key !== 'config');
  if (extra.length > 0)
    throw new ConfigError(`${source}: unknown key(s) beside "name" and "config": ${extra.join(', ')}`);
  const config = object.config;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError(`${source}: "config" must be an object`);
  }
  const inner = config as Record<string, unknown>;
  if (object.name !== undefined && inner.name !== undefined && inner.name !== object.name) {
    throw new ConfigError(
      `${source}: "name" (${String(object.name)}) and "config.name" (${String(inner.name)}) differ`,
    );
  }
  return { ...inner, ...(object.name === undefined ? {} : { name: object.name }) };
};

/**
 * Reads a connector file against its key table: unknown keys, non-scalar values and failed checks
 * are all collected, so one error names every problem.
 */
export const readConnectorKeys = (input: unknown, keys: KeyTable, source: string): ParsedKeys => {
  const flat = flatten(input, source);
  const problems: string[] = [];
  const values: Record<string, string> = {};
  for (const [key, raw] of Object.entries(flat)) {
    const spec = keys[key];
    if (spec === undefined) {
      problems.push(`unknown key "${key}"${suggestionFor(key, keys)}`);
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      problems.push(`${key} must be a string, number or boolean`);
      continue;
    }
    const value = String(raw);
    const problem = spec.check?.(value, key);
    if (problem !== undefined) problems.push(problem);
    values[key] = value;
  }
  if (!values.name) problems.push('name is required');
  if (values['connector.class'] === undefined) problems.push('connector.class is required');
  return { values, problems };
};

/** Throws one ConfigError listing every problem, if any. */
export const failOnProblems = (problems: readonly string[], source: string): void => {
  if (problems.length > 0) throw new ConfigError(`${source}: ${problems.join('; ')}`);
};

/** `a, b ,c` → `['a', 'b', 'c']`. */
export const listOf = (value: string | undefined): string[] =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);

/** A lower-case, unquoted SQL name (PostgreSQL's 63-byte identifier limit). */
export const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The JDBC connection keys JDBC sinks and sources share; medstream connects with its own URL. */
export const JDBC_CONNECTION_KEYS: KeyTable = {
  'connection.url': {
    check: (value, key) =>
      value.startsWith('jdbc:postgresql:') ? undefined : `${key} must be a jdbc:postgresql: URL`,
  },
  'connection.user': { accepted: true },
  'connection.password': { accepted: true },
  'connection.attempts': { check: isPositiveInt },
  'connection.backoff.ms': { check: isNonNegativeInt },
};
