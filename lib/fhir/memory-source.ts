import type { CompiledMapping } from './compile';
import type { Filter } from './mapping-schema';
import type { SourceRow } from './rows';
import type { KeyValue } from './sql';

/** Tables as arrays of plain records (`{ subject_id: 2, … }`), such as the clinical generator makes. */
export type MemoryTables = Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;

const compare = (left: unknown, right: unknown): number => {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  const a = String(left);
  const b = String(right);
  return a === b ? 0 : a < b ? -1 : 1;
};

const likeToRegExp = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('')
      .map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    's',
  );

// SQL semantics: a comparison with NULL is never true.
const passes = (filter: Filter, value: unknown): boolean => {
  if (value === null || value === undefined) return false;
  switch (filter.op) {
    case '=':
      return compare(value, filter.value) === 0;
    case '<>':
      return compare(value, filter.value) !== 0;
    case '<':
      return compare(value, filter.value) < 0;
    case '<=':
      return compare(value, filter.value) <= 0;
    case '>':
      return compare(value, filter.value) > 0;
    case '>=':
      return compare(value, filter.value) >= 0;
    case 'IN':
      return filter.value.some((candidate) => compare(value, candidate) === 0);
    case 'BETWEEN':
      return compare(value, filter.value[0]) >= 0 && compare(value, filter.value[1]) <= 0;
    case 'LIKE':
      return likeToRegExp(filter.value).test(String(value));
  }
};

/**
 * Runs a compiled mapping's query over in-memory tables with the generated SQL's semantics (LEFT
 * joins, filters, ORDER BY key then many-join keys, paging by key). For tests and benchmarks
 * without a database, and as an oracle for the SQL.
 */
export const selectRowsInMemory = (
  compiled: CompiledMapping,
  tables: MemoryTables,
  options: { after?: KeyValue; limit?: number; key?: KeyValue } = {},
): SourceRow[] => {
  const { source, joins, filters } = compiled.mapping;
  const indexes = new Map<string, Map<string, Readonly<Record<string, unknown>>[]>>();
  for (const join of joins) {
    const index = new Map<string, Readonly<Record<string, unknown>>[]>();
    for (const record of tables[join.table] ?? []) {
      const values = join.on.map(([, right]) => record[right]);
      if (values.some((value) => value === null || value === undefined)) continue;
      const composite = JSON.stringify(values);
      const bucket = index.get(composite);
      if (bucket === undefined) index.set(composite, [record]);
      else bucket.push(record);
    }
    indexes.set(join.alias, index);
  }
  let rows: Record<string, Readonly<Record<string, unknown>> | null>[] = (tables[source.table] ?? []).map(
    (record) => ({
      [source.table]: record,
    }),
  );
  for (const join of joins) {
    const index = indexes.get(join.alias) ?? new Map<string, Readonly<Record<string, unknown>>[]>();
    rows = rows.flatMap((row) => {
      const parent = row[join.from];
      const values = join.on.map(([left]) => parent?.[left]);
      const matches = values.some((value) => value === null || value === undefined)
        ? undefined
        : index.get(JSON.stringify(values));
      return matches === undefined || matches.length === 0
        ? [{ ...row, [join.alias]: null }]
        : matches.map((match) => ({ ...row, [join.alias]: match }));
    });
  }
  const read = (row: Record<string, Readonly<Record<string, unknown>> | null>, column: string): unknown => {
    const [alias = '', name = ''] = column.split('.');
    return row[alias]?.[name] ?? null;
  };
  const projected = rows
    .filter((row) => filters.every((filter) => passes(filter, read(row, filter.column))))
    .map((row) => Object.fromEntries(compiled.columns.map((column) => [column, read(row, column)])));
  const order = [compiled.keyColumn, ...compiled.manyJoins.map((join) => join.keyColumn)];
  projected.sort((a, b) => {
    for (const column of order) {
      const left = a[column];
      const right = b[column];
      // PostgreSQL sorts NULLs last in ascending order.
      if (left === null || right === null) {
        if (left !== right) return left === null ? 1 : -1;
        continue;
      }
      const result = compare(left, right);
      if (result !== 0) return result;
    }
    return 0;
  });
  const key = compiled.keyColumn;
  let selected = projected;
  if (options.key !== undefined) selected = selected.filter((row) => compare(row[key], options.key) === 0);
  if (options.after !== undefined) selected = selected.filter((row) => compare(row[key], options.after) > 0);
  if (options.limit !== undefined) {
    const keys = new Set<unknown>();
    const limit = options.limit;
    selected = selected.filter((row) => {
      if (!keys.has(row[key])) {
        if (keys.size >= limit) return false;
        keys.add(row[key]);
      }
      return true;
    });
  }
  return selected;
};
