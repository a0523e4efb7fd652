import type { CompiledMapping } from './compile';
import { TransformError } from './errors';
import type { KeyValue } from './sql';

/** A source row as the generated SQL returns it: keys are `alias.column`. */
export type SourceRow = Readonly<Record<string, unknown>>;

/** The rows of one resource: every row shares the primary key. */
export type RowGroup = { key: KeyValue; rows: SourceRow[] };

const readKey = (compiled: CompiledMapping, row: SourceRow): KeyValue => {
  const key = row[compiled.keyColumn];
  if (typeof key === 'number' || typeof key === 'string') return key;
  throw new TransformError({
    mapping: compiled.mapping.id,
    attribute: 'id',
    column: compiled.keyColumn,
    rule: 'primary-key',
    valueType: key === null ? 'null' : typeof key,
  });
};

/**
 * Groups rows ordered by primary key (as the generated SQL orders them) into one group per
 * resource. Rows of a key must be adjacent; a key seen again later starts a new group.
 */
export const groupRowsByKey = (compiled: CompiledMapping, rows: Iterable<SourceRow>): RowGroup[] => {
  const groups: RowGroup[] = [];
  let current: RowGroup | undefined;
  for (const row of rows) {
    const key = readKey(compiled, row);
    if (current === undefined || current.key !== key) {
      current = { key, rows: [] };
      groups.push(current);
    }
    current.rows.push(row);
  }
  return groups;
};

/** Turns a plain record (a CSV line, a Kafka Connect row) into a source row of table `alias`. */
export const prefixRow = (alias: string, record: Readonly<Record<string, unknown>>): SourceRow => {
  const row: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(record)) row[`${alias}.${column}`] = value;
  return row;
};
