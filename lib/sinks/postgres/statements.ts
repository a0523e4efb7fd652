import { createHash } from 'node:crypto';
import { INSERT_MODE, type InsertMode, PK_MODE, type PkMode } from './config';
import { qualifiedName, quoteIdentifier, type TableRef } from './ddl';
import type { SinkField } from './fields';

/** What a chunk of rows does to its table. */
export const CHUNK_KIND = { write: 'write', delete: 'delete' } as const;
/** One chunk kind. */
export type ChunkKind = (typeof CHUNK_KIND)[keyof typeof CHUNK_KIND];

/**
 * The SQL of one chunk: rows are streamed with COPY (into the table itself, or into a per-session
 * staging table from which one set-based statement merges them), never one statement per row.
 */
export type WriteStatements = {
  /**
   * A COPY straight into the table to try first, when a key conflict can only mean the rows are
   * already there (redelivery under pk.mode kafka): the common case then costs one COPY, and only
   * a batch that conflicts takes the staged ON CONFLICT DO NOTHING path.
   */
  optimistic: string | undefined;
  /** Creates the staging table on this connection if it does not exist yet. */
  prepare: string | undefined;
  copy: string;
  merge: string | undefined;
  /** Empties the staging table before it is reused in the same transaction. */
  cleanup: string | undefined;
};

/** What planWriteStatements needs to know about a chunk. */
export type WritePlanInput = {
  table: TableRef;
  /** The columns rows carry, in COPY order (all fields for a write, key fields for a delete). */
  columns: readonly SinkField[];
  kind: ChunkKind;
  insertMode: InsertMode;
  pkMode: PkMode;
  quote: boolean;
};

const columnList = (fields: readonly SinkField[], quote: boolean, prefix = '') =>
  fields.map((field) => `${prefix}${quoteIdentifier(field.name, quote)}`).join(',');

/** A staging table per target table and column set, so an evolved table gets a fresh one. */
export const stagingNameOf = (table: TableRef, columns: readonly SinkField[]): string => {
  const digest = createHash('sha1')
    .update(JSON.stringify([table.schema, table.name, columns.map((field) => field.name)]))
    .digest('hex')
    .slice(0, 16);
  return `medstream_stage_${digest}`;
};

/** Plans the statements of a chunk (pure: same input, same SQL). */
export const planWriteStatements = (input: WritePlanInput): WriteStatements => {
  const { quote } = input;
  const target = qualifiedName(input.table, quote);
  const keys = input.columns.filter((field) => field.isPrimaryKey);
  const nonKeys = input.columns.filter((field) => !field.isPrimaryKey);
  const columns = columnList(input.columns, quote);

  if (input.kind === CHUNK_KIND.write && input.insertMode === INSERT_MODE.insert && keys.length === 0) {
    return {
      optimistic: undefined,
      prepare: undefined,
      copy: `COPY ${target} (${columns}) FROM STDIN`,
      merge: undefined,
      cleanup: undefined,
    };
  }

  const stage = quoteIdentifier(stagingNameOf(input.table, input.columns), true);
  const prepare = `CREATE TEMP TABLE IF NOT EXISTS ${stage} ON COMMIT DELETE ROWS AS SELECT ${columns} FROM ${target} WITH NO DATA`;
  const copy = `COPY ${stage} (${columns}) FROM STDIN`;
  const cleanup = `DELETE FROM ${stage}`;
  const keyList = columnList(keys, quote);
  const matchKeys = keys
    .map(
      (field) => `"__t".${quoteIdentifier(field.name, quote)} = "__s".${quoteIdentifier(field.name, quote)}`,
    )
    .join(' AND ');

  let merge: string;
  if (input.kind === CHUNK_KIND.delete) {
    merge = `DELETE FROM ${target} AS "__t" USING ${stage} AS "__s" WHERE ${matchKeys}`;
  } else if (input.insertMode === INSERT_MODE.update) {
    const assignments = nonKeys
      .map((field) => `${quoteIdentifier(field.name, quote)} = "__s".${quoteIdentifier(field.name, quote)}`)
      .join(', ');
    merge = `UPDATE ${target} AS "__t" SET ${assignments} FROM ${stage} AS "__s" WHERE ${matchKeys}`;
  } else if (input.insertMode === INSERT_MODE.upsert) {
    const action =
      nonKeys.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${nonKeys.map((field) => `${quoteIdentifier(field.name, quote)}=EXCLUDED.${quoteIdentifier(field.name, quote)}`).join(',')}`;
    merge = `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage} ON CONFLICT (${keyList}) ${action}`;
  } else {
    // Under pk.mode kafka a conflict can only be the same record delivered again: skipping it
    // makes redelivery idempotent. Other key modes keep insert semantics (a duplicate fails).
    const onConflict = input.pkMode === PK_MODE.kafka ? ` ON CONFLICT (${keyList}) DO NOTHING` : '';
    merge = `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage}${onConflict}`;
  }
  const optimistic =
    input.kind === CHUNK_KIND.write &&
    input.insertMode === INSERT_MODE.insert &&
    input.pkMode === PK_MODE.kafka
      ? `COPY ${target} (${columns}) FROM STDIN`
      : undefined;
  return { optimistic, prepare, copy, merge, cleanup };
};
