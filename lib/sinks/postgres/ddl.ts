import { SchemaError } from '../../errors';
import { INSERT_MODE, PK_MODE, type SinkConnectorConfig } from './config';
import { type ConnectSchema, LOGICAL } from './connect-schema';
import { describeField, hasDefault, isOptionalField, type SinkField } from './fields';
import { decimalToString, formatDate, formatTime, formatTimestamp } from './values';

/** A destination table: `table.name.format` may name a schema (`schema.table`). */
export type TableRef = { schema: string | undefined; name: string };

/** What the database says a table has (PostgreSQL folds unquoted names to lower case). */
export type ExistingTable = { columns: { name: string; type: string }[] };

/** The config keys that govern DDL, and the modes that say whether writes need a unique key. */
export type DdlSettings = Pick<
  SinkConnectorConfig,
  'autoCreate' | 'autoEvolve' | 'quoteIdentifiers' | 'insertMode' | 'pkMode'
>;

/** Splits `schema.table` the way the JDBC sink's TableId parsing does for PostgreSQL. */
export const parseTableRef = (qualified: string): TableRef => {
  const dot = qualified.indexOf('.');
  return dot < 0
    ? { schema: undefined, name: qualified }
    : { schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
};

/** A quoted identifier (`quote.sql.identifiers=always`, the default) or the name as is. */
export const quoteIdentifier = (name: string, quote: boolean): string => {
  if (quote) return `"${name.replaceAll('"', '""')}"`;
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name)) {
    throw new SchemaError(
      `"${name}" is not a valid unquoted SQL identifier: set quote.sql.identifiers=always`,
    );
  }
  return name;
};

/** The table as SQL, also how it appears in the connector's messages (TableId.toString()). */
export const qualifiedName = (table: TableRef, quote: boolean): string =>
  table.schema === undefined
    ? quoteIdentifier(table.name, quote)
    : `${quoteIdentifier(table.schema, quote)}.${quoteIdentifier(table.name, quote)}`;

/** PostgreSqlDatabaseDialect.getSqlType: the column type the JDBC sink creates for a field. */
export const sqlTypeOf = (schema: ConnectSchema): string => {
  switch (schema.name) {
    case LOGICAL.decimal:
      return 'DECIMAL';
    case LOGICAL.date:
      return 'DATE';
    case LOGICAL.time:
      return 'TIME';
    case LOGICAL.timestamp:
      return 'TIMESTAMP';
  }
  switch (schema.type) {
    case 'INT8':
    case 'INT16':
      return 'SMALLINT';
    case 'INT32':
      return 'INT';
    case 'INT64':
      return 'BIGINT';
    case 'FLOAT32':
      return 'REAL';
    case 'FLOAT64':
      return 'DOUBLE PRECISION';
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'STRING':
      return 'TEXT';
    case 'BYTES':
      return 'BYTEA';
    case 'ARRAY':
      if (schema.valueSchema !== undefined && !['ARRAY', 'MAP', 'STRUCT'].includes(schema.valueSchema.type)) {
        return `${sqlTypeOf(schema.valueSchema)}[]`;
      }
      break;
  }
  throw new SchemaError(
    `${schema.name ?? 'null'} (${schema.type}) type doesn't have a mapping to the SQL database column type`,
  );
};

const quoteString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** A field's default as a SQL literal (the dialect's formatColumnValue). */
export const formatDefault = (schema: ConnectSchema, value: unknown): string => {
  switch (schema.name) {
    case LOGICAL.decimal:
      return decimalToString(
        typeof value === 'string' ? Buffer.from(value, 'latin1') : (value as Buffer),
        schema.parameters?.scale ?? 0,
      );
    case LOGICAL.date:
      return quoteString(formatDate(value as number));
    case LOGICAL.time:
      return quoteString(formatTime(value as number));
    case LOGICAL.timestamp:
      return quoteString(formatTimestamp(value as number));
  }
  switch (schema.type) {
    case 'BOOLEAN':
      return value ? 'TRUE' : 'FALSE';
    case 'STRING':
      return quoteString(String(value));
    case 'BYTES':
      // Avro JSON encodes a bytes default as a string of code points 0–255.
      return quoteString(`\\x${Buffer.from(String(value), 'latin1').toString('hex')}`);
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'INT64':
    case 'FLOAT32':
    case 'FLOAT64':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new SchemaError(`invalid numeric default ${String(value)}`);
      return String(value);
    default:
      throw new SchemaError(`a default of type ${schema.type} cannot be written as a column default`);
  }
};

/** `"name" TYPE [DEFAULT x] NULL|NOT NULL`, as GenericDatabaseDialect.writeColumnSpec writes it. */
export const columnSpecOf = (field: SinkField, quote: boolean): string => {
  const parts = [quoteIdentifier(field.name, quote), sqlTypeOf(field.schema)];
  if (hasDefault(field)) parts.push('DEFAULT', formatDefault(field.schema, field.schema.defaultValue));
  parts.push(isOptionalField(field) ? 'NULL' : 'NOT NULL');
  return parts.join(' ');
};

/** CREATE TABLE for auto.create; IF NOT EXISTS so a concurrent invocation that won the race is fine. */
export const planCreateTable = (table: TableRef, fields: readonly SinkField[], quote: boolean): string => {
  const columns = fields.map((field) => columnSpecOf(field, quote));
  const keys = fields
    .filter((field) => field.isPrimaryKey)
    .map((field) => quoteIdentifier(field.name, quote));
  if (keys.length > 0) columns.push(`PRIMARY KEY(${keys.join(',')})`);
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(table, quote)} (\n${columns.join(',\n')})`;
};

/** Fields with no column, matched exactly and then ignoring case (DbStructure.missingFields). */
export const missingFieldsOf = (fields: readonly SinkField[], existing: ExistingTable): SinkField[] => {
  const exact = new Set(existing.columns.map((column) => column.name));
  const folded = new Set(existing.columns.map((column) => column.name.toLowerCase()));
  return fields.filter((field) => !exact.has(field.name) && !folded.has(field.name.toLowerCase()));
};

/**
 * The DDL that makes a table fit the fields: nothing, CREATE (auto.create) or ADD COLUMN
 * (auto.evolve: only missing columns, nullable or with their default; never a drop or a retype).
 * Throws a SchemaError with the JDBC sink's message when the rules forbid it.
 */
export const planTableDdl = (
  table: TableRef,
  fields: readonly SinkField[],
  existing: ExistingTable | undefined,
  settings: DdlSettings,
): string[] => {
  const display = qualifiedName(table, settings.quoteIdentifiers);
  if (existing === undefined) {
    if (!settings.autoCreate)
      throw new SchemaError(`Table ${display} is missing and auto-creation is disabled`);
    return [planCreateTable(table, fields, settings.quoteIdentifiers)];
  }
  const missing = missingFieldsOf(fields, existing);
  if (missing.length === 0) return [];
  for (const field of missing) {
    if (!isOptionalField(field) && !hasDefault(field)) {
      throw new SchemaError(
        `Cannot ALTER TABLE ${display} to add missing field ${describeField(field)}, as the field is not optional and does not have a default value`,
      );
    }
  }
  if (!settings.autoEvolve) {
    throw new SchemaError(
      `Table ${display} is missing fields [${missing.map(describeField).join(', ')}] and auto-evolution is disabled`,
    );
  }
  const additions = missing.map(
    (field) => `ADD COLUMN IF NOT EXISTS ${columnSpecOf(field, settings.quoteIdentifiers)}`,
  );
  return [`ALTER TABLE ${display} \n${additions.join(',\n')}`];
};

/**
 * Writes that name the key in ON CONFLICT (upsert; insert under pk.mode kafka, where a conflict is
 * a redelivery) need a primary key or unique index on exactly the key columns (`uniqueKeys`: the
 * column sets of the table's). The sink makes one
 * only when it creates the table; a table made for another pk.mode (or by hand) may lack it, and
 * PostgreSQL would refuse every row with "no unique or exclusion constraint matching the ON
 * CONFLICT specification". Throws a SchemaError saying what the table has and what is needed.
 */
export const checkUniqueKey = (
  table: TableRef,
  fields: readonly SinkField[],
  uniqueKeys: readonly (readonly string[])[],
  settings: DdlSettings,
): void => {
  const writesOnConflict =
    settings.insertMode === INSERT_MODE.upsert ||
    (settings.insertMode === INSERT_MODE.insert && settings.pkMode === PK_MODE.kafka);
  const keyFields = fields.filter((field) => field.isPrimaryKey).map((field) => field.name);
  if (!writesOnConflict || keyFields.length === 0) return;
  const fold = (name: string) => (settings.quoteIdentifiers ? name : name.toLowerCase());
  const wanted = JSON.stringify(keyFields.map(fold).sort());
  if (uniqueKeys.some((key) => JSON.stringify([...key].sort()) === wanted)) return;
  const has =
    uniqueKeys.length === 0
      ? 'no primary key or unique index'
      : `unique keys ${uniqueKeys.map((key) => `(${key.join(', ')})`).join(', ')} only`;
  throw new SchemaError(
    `Table ${qualifiedName(table, settings.quoteIdentifiers)} has ${has}, but insert.mode ${settings.insertMode} with pk.mode ${settings.pkMode} writes by the key (${keyFields.join(', ')}): the sink creates a table's key only with the table, and never changes it; write to a new table (table.name.format) or give this one that key`,
  );
};
