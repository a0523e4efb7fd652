import type { CompiledMapping } from './compile';
import { MappingError } from './errors';
import type { Filter } from './mapping-schema';

/** A query with its bound parameters; its text never contains a value. */
export type SqlQuery = { text: string; values: unknown[] };

/** A primary key value as paging and preview take it. */
export type KeyValue = string | number;

// Identifiers were validated by the mapping schema (lower-case SQL names); quoting is a second guard.
const quote = (identifier: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(identifier)) throw new MappingError('invalid SQL identifier in mapping');
  return `"${identifier}"`;
};
const quoteColumn = (column: string): string => column.split('.').map(quote).join('.');

type Params = { values: unknown[]; add: (value: unknown) => string };
const createParams = (): Params => {
  const values: unknown[] = [];
  return { values, add: (value) => `$${values.push(value)}` };
};

const renderFilter = (filter: Filter, params: Params): string => {
  const column = quoteColumn(filter.column);
  switch (filter.op) {
    case 'IN':
      return `${column} IN (${filter.value.map((value) => params.add(value)).join(', ')})`;
    case 'BETWEEN':
      return `${column} BETWEEN ${params.add(filter.value[0])} AND ${params.add(filter.value[1])}`;
    case 'LIKE':
      return `${column} LIKE ${params.add(filter.value)}`;
    default:
      return `${column} ${filter.op} ${params.add(filter.value)}`;
  }
};

const renderFrom = (compiled: CompiledMapping): string => {
  const { source, joins } = compiled.mapping;
  const parts = [`FROM ${quote(source.table)} AS ${quote(source.table)}`];
  for (const join of joins) {
    const on = join.on.map(
      ([left, right]) => `${quote(join.alias)}.${quote(right)} = ${quote(join.from)}.${quote(left)}`,
    );
    parts.push(`LEFT JOIN ${quote(join.table)} AS ${quote(join.alias)} ON ${on.join(' AND ')}`);
  }
  return parts.join(' ');
};

const renderSelect = (compiled: CompiledMapping, extra: readonly string[] = []): string =>
  `SELECT ${[...extra, ...compiled.columns.map((column) => `${quoteColumn(column)} AS "${column}"`)].join(', ')}`;

const renderOrder = (compiled: CompiledMapping): string =>
  `ORDER BY ${[compiled.keyColumn, ...compiled.manyJoins.map((join) => join.keyColumn)].map(quoteColumn).join(', ')}`;

const checkLimit = (limit: number): number => {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('page limit must be a positive integer');
  return limit;
};

/**
 * One page of resources: the rows of at most `limit` primary keys greater than `after`, ordered
 * by key so the rows of one resource are adjacent. With many joins the keys are chosen first, so
 * a page never cuts a resource's rows in two. The next page starts after the last key seen.
 */
export const buildPageQuery = (
  compiled: CompiledMapping,
  page: { after?: KeyValue; limit: number },
): SqlQuery => {
  const params = createParams();
  const key = quoteColumn(compiled.keyColumn);
  const from = renderFrom(compiled);
  const where = compiled.mapping.filters.map((filter) => renderFilter(filter, params));
  if (page.after !== undefined) where.push(`${key} > ${params.add(page.after)}`);
  const whereText = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  if (compiled.manyJoins.length === 0) {
    const text = `${renderSelect(compiled)} ${from}${whereText} ORDER BY ${key} LIMIT ${params.add(checkLimit(page.limit))}`;
    return { text, values: params.values };
  }
  const keys = `SELECT DISTINCT ${key} ${from}${whereText} ORDER BY ${key} LIMIT ${params.add(checkLimit(page.limit))}`;
  const outer = compiled.mapping.filters.map((filter) => renderFilter(filter, params));
  outer.push(`${key} IN (${keys})`);
  return {
    text: `${renderSelect(compiled)} ${from} WHERE ${outer.join(' AND ')} ${renderOrder(compiled)}`,
    values: params.values,
  };
};

/** The rows of one primary key (the preview), with the mapping's filters still applied. */
export const buildKeyQuery = (compiled: CompiledMapping, keyValue: KeyValue): SqlQuery => {
  const params = createParams();
  const where = compiled.mapping.filters.map((filter) => renderFilter(filter, params));
  where.push(`${quoteColumn(compiled.keyColumn)} = ${params.add(keyValue)}`);
  return {
    text: `${renderSelect(compiled)} ${renderFrom(compiled)} WHERE ${where.join(' AND ')} ${renderOrder(compiled)}`,
    values: params.values,
  };
};

/** Where an incremental read stopped: the last timestamp and key seen (Kafka Connect's offset). */
export type ChangeOffset = { timestamp: string; key: KeyValue };

/**
 * The rows changed since `since`, Kafka Connect JDBC `timestamp+incrementing` semantics on the
 * source table: (timestamp, key) strictly after the offset and timestamp before `until` (rows
 * still being written in the current instant are read next time). Ordered by timestamp then key,
 * so one resource's rows stay adjacent for `groupRowsByKey`. `incrementing` mode is
 * `buildPageQuery` with `after`.
 */
export const buildChangeQuery = (
  compiled: CompiledMapping,
  change: { timestampColumn: string; since?: ChangeOffset; until: string; limit: number },
): SqlQuery => {
  const [alias, column] = change.timestampColumn.split('.');
  if (alias !== compiled.mapping.source.table || column === undefined) {
    throw new MappingError('the timestamp column must be a column of the source table');
  }
  const params = createParams();
  const timestamp = quoteColumn(change.timestampColumn);
  const key = quoteColumn(compiled.keyColumn);
  const from = renderFrom(compiled);
  const where = compiled.mapping.filters.map((filter) => renderFilter(filter, params));
  where.push(`${timestamp} < ${params.add(change.until)}`);
  if (change.since !== undefined) {
    const ts = params.add(change.since.timestamp);
    where.push(
      `(${timestamp} > ${ts} OR (${timestamp} = ${ts} AND ${key} > ${params.add(change.since.key)}))`,
    );
  }
  const limit = params.add(checkLimit(change.limit));
  // The offset to store comes with each row, under a name no `alias.column` can take.
  const select = renderSelect(compiled, [`${timestamp} AS "$timestamp"`]);
  if (compiled.manyJoins.length === 0) {
    return {
      text: `${select} ${from} WHERE ${where.join(' AND ')} ORDER BY ${timestamp}, ${key} LIMIT ${limit}`,
      values: params.values,
    };
  }
  const keys = `SELECT ${key} FROM (SELECT DISTINCT ${timestamp} AS t, ${key} ${from} WHERE ${where.join(' AND ')} ORDER BY 1, 2 LIMIT ${limit}) AS page`;
  const order = [
    change.timestampColumn,
    compiled.keyColumn,
    ...compiled.manyJoins.map((join) => join.keyColumn),
  ].map(quoteColumn);
  const outer = compiled.mapping.filters.map((filter) => renderFilter(filter, params));
  outer.push(`${key} IN (${keys})`);
  return {
    text: `${select} ${from} WHERE ${outer.join(' AND ')} ORDER BY ${order.join(', ')}`,
    values: params.values,
  };
};
