import { z } from 'zod';
import { BadRequestError } from '../http/errors';
import { parseDateValue, planDateFilter } from './dates';
import type { Filter } from './filter';
import { type SearchParamDefinition, searchParamsOf } from './search-params';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1_000;

/** R4 `id`: 1 to 64 letters, digits, `-` and `.`. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * A keyset position in the `_id` order: the page after an id, or the page before one (inclusive
 * when the page that linked to it was empty). Keyset rather than `_offset`: the pipeline upserts
 * while clients page, and an offset would skip or repeat resources when one is inserted before
 * it; a keyset cursor never repeats one and costs an index seek, not a skip of every earlier row.
 */
export type Cursor = { after: string } | { before: string; inclusive?: boolean };

/** A parsed search: the filter of what matches, the page wanted and the parameters as understood. */
export type SearchRequest = {
  resourceType: string;
  filter: Filter;
  count: number;
  cursor: Cursor | undefined;
  /** The accepted search parameters in request order (no `_count`, `_cursor`), for the links. */
  params: readonly (readonly [string, string])[];
};

export type SearchOptions = {
  /** `Prefer: handling=lenient`: unknown parameters are ignored instead of refused. */
  lenient?: boolean;
};

const cursorSchema = z.union([
  z.object({ a: z.string().regex(FHIR_ID) }).strict(),
  z.object({ b: z.string().regex(FHIR_ID), i: z.literal(1).optional() }).strict(),
]);

/** The opaque `_cursor` value of a position (base64url JSON; clients must not build it). */
export const encodeCursor = (cursor: Cursor): string =>
  Buffer.from(
    JSON.stringify(
      'after' in cursor ? { a: cursor.after } : { b: cursor.before, ...(cursor.inclusive ? { i: 1 } : {}) },
    ),
  ).toString('base64url');

/** Decodes a `_cursor` this server issued; anything else is a 400. */
export const decodeCursor = (value: string): Cursor => {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success)
    throw new BadRequestError('_cursor is not a cursor this server issued; follow the Bundle links');
  return 'a' in parsed.data
    ? { after: parsed.data.a }
    : { before: parsed.data.b, ...(parsed.data.i === 1 ? { inclusive: true } : {}) };
};

/**
 * Splits on a separator not escaped by `\` (R4 search escaping); only the separator's own escape is
 * removed, so a later split or `unescapeSearchValue` sees the others.
 */
export const splitEscaped = (
  value: string,
  separator: ',' | '|',
  limit = Number.POSITIVE_INFINITY,
): string[] => {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] as string;
    const next = value[index + 1];
    if (char === '\\' && next !== undefined && ',|$\\'.includes(next)) {
      current += next === separator ? next : `\\${next}`;
      index += 1;
    } else if (char === separator && parts.length + 1 < limit) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
};

/** Removes the R4 escapes `\,` `\|` `\$` `\\`. */
export const unescapeSearchValue = (value: string): string => value.replace(/\\([,|$\\])/g, '$1');

const anyOf = (filters: Filter[]): Filter =>
  filters.length === 1 ? (filters[0] as Filter) : { $or: filters };

const ABSOLUTE_REFERENCE = /^https?:\/\/.+\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

const planReference = (
  definition: Extract<SearchParamDefinition, { type: 'reference' }>,
  value: string,
): Filter => {
  const absolute = ABSOLUTE_REFERENCE.exec(value);
  const parts = absolute === null ? value.split('/') : [absolute[1], absolute[2]];
  const [type, id] = parts.length === 1 ? [undefined, parts[0]] : parts;
  if (parts.length > 2 || id === undefined || !FHIR_ID.test(id)) {
    throw new BadRequestError(`${definition.name} must be <Type>/<id> or <id>`);
  }
  if (type !== undefined && !definition.targetTypes.includes(type)) {
    throw new BadRequestError(`${definition.name} refers to ${definition.targetTypes.join(' or ')}`);
  }
  const types = type === undefined ? definition.targetTypes : [type];
  const references = types.map((target) => `${target}/${id}`);
  return { [definition.path]: references.length === 1 ? references[0] : { $in: references } };
};

// Matches no document: `_id` is never null.
const NOTHING: Filter = { _id: { $in: [] } };

const planToken = (definition: Extract<SearchParamDefinition, { type: 'token' }>, raw: string): Filter => {
  const [first = '', second] = splitEscaped(raw, '|', 2).map(unescapeSearchValue);
  if (first === '' && (second ?? '') === '')
    throw new BadRequestError(`${definition.name} must be system|code, |code or code`);
  if (definition.element === 'code') {
    // A code's system is implicit: `|code` (no system) or another system matches nothing.
    if (second === undefined) return { [definition.path]: first };
    if (first !== definition.system) return NOTHING;
    return { [definition.path]: second === '' ? { $exists: true } : second };
  }
  const field = definition.element === 'coding' ? 'code' : 'value';
  if (second === undefined) return { [`${definition.path}.${field}`]: first };
  // `|code`: a coding without a system; `system|`: any code of the system (R4 token search).
  const match: Filter = first === '' ? { system: { $exists: false } } : { system: first };
  if (second !== '') match[field] = second;
  return { [definition.path]: { $elemMatch: match } };
};

const planValue = (definition: SearchParamDefinition, raw: string): Filter => {
  if (definition.type === 'token') return planToken(definition, raw);
  const value = unescapeSearchValue(raw);
  switch (definition.type) {
    case 'id':
      if (!FHIR_ID.test(value))
        throw new BadRequestError('_id must be a FHIR id (letters, digits, - and ., at most 64)');
      return { _id: value };
    case 'reference':
      return planReference(definition, value);
    case 'date':
      return planDateFilter(parseDateValue(value, definition.name), definition.targets);
  }
};

const parseCount = (value: string): number => {
  if (!/^\d{1,9}$/.test(value)) throw new BadRequestError(`_count must be an integer from 0 to ${MAX_COUNT}`);
  // R4: the server may return fewer than asked; the self link states the count used.
  return Math.min(Number(value), MAX_COUNT);
};

// Result parameters accepted and ignored: JSON is the only format served.
const FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

/**
 * Parses the query string of `GET /fhir/{type}` into a search. Repeated parameters are ANDed and
 * comma-separated values ORed (R4); the raw query string is read because API Gateway joins
 * repeated parameters with commas in `queryStringParameters`, which would turn AND into OR.
 */
export const parseSearchRequest = (
  resourceType: string,
  rawQueryString: string,
  options: SearchOptions = {},
): SearchRequest => {
  const definitions = new Map(
    searchParamsOf(resourceType).map((definition) => [definition.name, definition]),
  );
  const filters: Filter[] = [];
  const params: [string, string][] = [];
  let count: number | undefined;
  let cursor: Cursor | undefined;
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    if (name === '_count' || name === '_cursor') {
      if ((name === '_count' && count !== undefined) || (name === '_cursor' && cursor !== undefined)) {
        throw new BadRequestError(`${name} may be given once`);
      }
      if (name === '_count') count = parseCount(value);
      else cursor = decodeCursor(value);
      continue;
    }
    if (name === '_format') {
      if (!FORMATS.has(value)) throw new BadRequestError('_format: only json is served');
      continue;
    }
    const definition = definitions.get(name);
    if (definition === undefined) {
      if (options.lenient) continue;
      const known = [...definitions.keys(), '_count', '_cursor'].join(', ');
      const what = name.includes(':')
        ? 'search modifiers are not supported'
        : `unknown search parameter for ${resourceType}`;
      throw new BadRequestError(`${what}; supported: ${known}`);
    }
    if (value === '') {
      if (options.lenient) continue;
      throw new BadRequestError(`${name} has no value`);
    }
    // A `+` of a zone offset sent unencoded arrives as a space; the links send it back encoded.
    const given = definition.type === 'date' ? value.replaceAll(' ', '+') : value;
    filters.push(anyOf(splitEscaped(given, ',').map((part) => planValue(definition, part))));
    params.push([name, given]);
  }
  const filter =
    filters.length === 0 ? {} : filters.length === 1 ? (filters[0] as Filter) : { $and: filters };
  return { resourceType, filter, count: count ?? DEFAULT_COUNT, cursor, params };
};
