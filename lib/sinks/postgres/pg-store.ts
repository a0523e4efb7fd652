import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SchemaError, UnavailableError } from '../../errors';
import { logger } from '../../logger';
import type { CopyRows } from './copy-rows';
import {
  checkUniqueKey,
  type DdlSettings,
  type ExistingTable,
  missingFieldsOf,
  planTableDdl,
  type TableRef,
} from './ddl';
import { type ChunkWriter, recordsOfRow, type TableStore, type WriteChunk } from './sink';
import { CHUNK_KIND } from './statements';

/**
 * SQLSTATE classes that mean "this data can never be written" (22 data exception, 23 integrity
 * violation, 42 e.g. a column of an incompatible type): the rows are dead-lettered, not retried.
 * Everything else (connection loss, 53 resources, 57 shutdown, 40 serialization) is retryable.
 */
const isDataError = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|42)/.test(code);
};

const wrap = (error: unknown, what: string): Error =>
  isDataError(error)
    ? new SchemaError(`${what}: ${(error as Error).message}`, { cause: error })
    : new UnavailableError(`${what}: ${(error as Error).message}`, { cause: error });

const withClient = async <T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> => {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    throw new UnavailableError('cannot connect to PostgreSQL', { cause });
  }
  let broken = false;
  try {
    return await work(client);
  } catch (error) {
    broken = !isDataError(error) && !(error instanceof SchemaError);
    throw error;
  } finally {
    // A connection that failed for a non-data reason is dropped rather than reused.
    client.release(broken);
  }
};

/** A table's name as the catalog has it, as query parameters: PostgreSQL folds unquoted names. */
const catalogNameOf = (table: TableRef, quote: boolean): [string, string | null] => {
  const fold = (name: string) => (quote ? name : name.toLowerCase());
  return [fold(table.name), table.schema === undefined ? null : fold(table.schema)];
};

/** Reads a table's columns from the catalog; undefined when the table does not exist. */
const describeTable = async (
  client: PoolClient,
  table: TableRef,
  quote: boolean,
): Promise<ExistingTable | undefined> => {
  const name = catalogNameOf(table, quote);
  const result = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema())
        AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    name,
  );
  if (result.rows.length === 0) {
    const exists = await client.query(
      `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema())`,
      name,
    );
    return exists.rowCount === 0 ? undefined : { columns: [] };
  }
  return { columns: result.rows };
};

/** The column sets of a table's unique indexes ON CONFLICT can infer: over plain columns, not partial. */
const uniqueKeysOf = async (client: PoolClient, table: TableRef, quote: boolean): Promise<string[][]> => {
  const keys = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
      WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema())
        AND i.indisunique AND i.indpred IS NULL AND NOT (0 = ANY (i.indkey))
      GROUP BY i.indexrelid`,
    catalogNameOf(table, quote),
  );
  return keys.rows.map((row) => row.columns);
};

const tableKeyOf = (table: TableRef) => JSON.stringify([table.schema ?? null, table.name]);

/**
 * Table definitions cached per container; DDL runs in its own short transaction under a
 * transaction-level advisory lock per table, re-reading the catalog after taking it, so
 * concurrent invocations (one per partition) neither race nor repeat each other's DDL.
 */
export const createPgTableStore = (pool: Pool, settings: DdlSettings): TableStore => {
  const known = new Map<string, ExistingTable>();
  // Tables that refused binary rows (a column type changed under a cached definition, say).
  const textOnly = new Set<string>();
  const answer = (key: string): ExistingTable | undefined => (textOnly.has(key) ? undefined : known.get(key));
  return {
    async ensureTable(table, fields) {
      const key = tableKeyOf(table);
      const cached = known.get(key);
      if (cached !== undefined && missingFieldsOf(fields, cached).length === 0) return answer(key);
      await withClient(pool, async (client) => {
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`medstream.sink.ddl:${key}`]);
          const existing = await describeTable(client, table, settings.quoteIdentifiers);
          const statements = planTableDdl(table, fields, existing, settings);
          for (const statement of statements) await client.query(statement);
          // The statements themselves: a user sees which table was created, which columns added.
          if (statements.length > 0)
            logger.info('sink table ddl applied', {
              table: table.name,
              ddl: statements.map((statement) => statement.replace(/\s+/g, ' ')),
            });
          const after = await describeTable(client, table, settings.quoteIdentifiers);
          if (after !== undefined) {
            checkUniqueKey(
              table,
              fields,
              await uniqueKeysOf(client, table, settings.quoteIdentifiers),
              settings,
            );
          }
          await client.query('COMMIT');
          if (after !== undefined) known.set(key, after);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (error instanceof SchemaError || error instanceof UnavailableError) throw error;
          throw wrap(error, `DDL on table ${table.name} failed`);
        }
      });
      return answer(key);
    },
    forget(table, binaryRefused = false) {
      const key = tableKeyOf(table);
      known.delete(key);
      if (binaryRefused) textOnly.add(key);
    },
  };
};

/**
 * A connection whose bookkeeping statements (BEGIN, SAVEPOINT, RELEASE...) wait and travel with
 * the next statement that is awaited, as one multi-statement query: a batch then costs three round
 * trips (BEGIN…, COPY, …COMMIT) rather than seven. A round trip is not only network: its answer
 * waits for the event loop, which other partitions' batches keep busy.
 */
class Session {
  private pending: string[] = [];

  constructor(readonly client: PoolClient) {}

  /** Sends `sql` with the next awaited statement. */
  later(sql: string): void {
    this.pending.push(sql);
  }

  /** Runs the pending statements and `sql` (if any) in one round trip; the rows the last one touched. */
  async query(sql?: string): Promise<number | undefined> {
    if (sql !== undefined) this.pending.push(sql);
    if (this.pending.length === 0) return undefined;
    const text = this.pending.join(';\n');
    this.pending = [];
    // One statement answers with its result, several with one result each.
    const results: QueryResult | QueryResult[] = await this.client.query(text);
    const last = Array.isArray(results) ? results.at(-1) : results;
    return last?.rowCount ?? undefined;
  }

  /** COPY ... FROM STDIN of `data`; pending statements are queued ahead of it, not awaited apart. */
  async copy(sql: string, data: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    const before = this.query();
    // Handled below: the COPY fails too if they did, and their error is the one to report.
    before.catch(() => undefined);
    const copying = pipeline(Readable.from(data), this.client.query(copyFrom(sql)));
    try {
      await copying;
    } finally {
      await before;
    }
  }
}

/**
 * One chunk: COPY (into the table, or into the staging table and merged from there). A staging
 * table is emptied by its ON COMMIT DELETE ROWS; within a transaction it is emptied only before it
 * is reused, since an explicit TRUNCATE per chunk costs a catalog update.
 */
const runChunk = async <R>(
  session: Session,
  chunk: WriteChunk<R>,
  data: Iterable<Buffer> | AsyncIterable<Buffer>,
  staged: Set<string>,
): Promise<number | undefined> => {
  const { statements } = chunk;
  if (statements.prepare !== undefined) {
    // Always run (IF NOT EXISTS): a savepoint rollback may have undone the table's creation.
    session.later(statements.prepare);
    if (staged.has(statements.prepare) && statements.cleanup !== undefined) session.later(statements.cleanup);
    staged.add(statements.prepare);
  }
  await session.copy(copyIn(statements.copy, chunk.rows), data);
  // Awaited here: a merge the database refuses must fail this chunk, not a later statement.
  return statements.merge === undefined ? undefined : session.query(statements.merge);
};

/**
 * Says how many rows of a chunk the pk.mode kafka merge skipped as already written. A redelivered
 * batch is skipped by design (as Kafka Connect's sink does), but so is every record of a topic that
 * was deleted and created again while its table kept the old offsets: the line makes that visible.
 */
const reportSkipped = <R>(chunk: WriteChunk<R>, inserted: number | undefined): void => {
  const skipped = inserted === undefined ? 0 : chunk.rows.length - inserted;
  if (skipped <= 0) return;
  logger.warn('sink skipped records whose rows already exist', {
    table: chunk.table.name,
    skipped,
    rows: chunk.rows.length,
    reason:
      'pk.mode kafka: a row with the same topic, partition and offset is in the table (a redelivered batch, or a topic recreated while its table kept the old rows)',
  });
};

/** A COPY statement in the format of its rows. */
const copyIn = (sql: string, rows: CopyRows): string => (rows.binary ? `${sql} WITH (FORMAT binary)` : sql);

const isUndefinedTable = (error: unknown) => (error as { code?: unknown } | null)?.code === '42P01';
/**
 * A binary cell the column's type cannot read (22P03 invalid_binary_representation, or 08P01 when
 * it reads past the cell): the column's type is not the one the cached definition had.
 */
const isBinaryMismatch = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22P03' || code === '08P01';
};
const isUniqueViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === '23505';

/**
 * A chunk's rows for its first COPY: streamed as they are built when the chunk is still being
 * built. Any later attempt (a fallback) waits for every row.
 */
const firstData = <R>(chunk: WriteChunk<R>): Iterable<Buffer> | AsyncIterable<Buffer> =>
  chunk.progress?.rowsAsBuilt() ?? chunk.rows.data();

const allData = async <R>(chunk: WriteChunk<R>): Promise<Buffer[]> => {
  await chunk.progress?.complete;
  return chunk.rows.data();
};

/** Tries the optimistic direct COPY under its own savepoint; false when a key conflict needs the merge path. */
const tryOptimistic = async <R>(session: Session, chunk: WriteChunk<R>): Promise<boolean> => {
  if (chunk.statements.optimistic === undefined) return false;
  session.later('SAVEPOINT medstream_optimistic');
  try {
    await session.copy(copyIn(chunk.statements.optimistic, chunk.rows), firstData(chunk));
    session.later('RELEASE SAVEPOINT medstream_optimistic');
    return true;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await session.query('ROLLBACK TO SAVEPOINT medstream_optimistic');
    return false;
  }
};

/**
 * Writes all chunks of a batch in one transaction. A chunk the database refuses for data reasons
 * is retried row by row under savepoints, only to find the rows to dead-letter: the normal path
 * never writes row by row.
 */
export const createPgChunkWriter = (pool: Pool, tables?: Pick<TableStore, 'forget'>): ChunkWriter => ({
  async writeChunks<R>(chunks: Iterable<WriteChunk<R>> | AsyncIterable<WriteChunk<R>>) {
    return withClient(pool, async (client) => {
      const session = new Session(client);
      const refused: { record: R; error: unknown }[] = [];
      const staged = new Set<string>();
      try {
        session.later('BEGIN');
        for await (const chunk of chunks) {
          session.later('SAVEPOINT medstream_chunk');
          try {
            if (chunk.statements.optimistic === undefined)
              await runChunk(session, chunk, firstData(chunk), staged);
            else if (!(await tryOptimistic(session, chunk)))
              reportSkipped(chunk, await runChunk(session, chunk, await allData(chunk), staged));
            session.later('RELEASE SAVEPOINT medstream_chunk');
            continue;
          } catch (error) {
            if (chunk.rows.binary && isBinaryMismatch(error)) {
              // Not the records' fault: the batch is written again, in text, after the table's
              // definition is read afresh.
              tables?.forget(chunk.table, true);
              logger.warn('sink table refused binary rows; writing it in text from now on', {
                table: chunk.table.name,
                error: (error as Error).message,
              });
              throw new UnavailableError(`table ${chunk.table.name} refused binary COPY rows`, {
                cause: error,
              });
            }
            if (!isDataError(error)) throw error;
            await session.query('ROLLBACK TO SAVEPOINT medstream_chunk');
            // Rows are isolated once they are all there.
            await chunk.progress?.complete;
            // Deleting from a table that was never created deletes nothing.
            if (chunk.kind === CHUNK_KIND.delete && isUndefinedTable(error)) continue;
            if (isUndefinedTable(error)) {
              // The table was dropped under us: forget it and retry the batch, which re-creates it
              // (auto.create) or dead-letters with the connector's message, rather than dead-letter
              // every row now.
              tables?.forget(chunk.table);
              throw new UnavailableError(`table ${chunk.table.name} disappeared while writing`, {
                cause: error,
              });
            }
            logger.warn('sink chunk refused, isolating rows', {
              table: chunk.table.name,
              rows: chunk.rows.length,
              code: (error as { code?: string }).code,
            });
          }
          for (let index = 0; index < chunk.rows.length; index += 1) {
            session.later('SAVEPOINT medstream_row');
            try {
              await runChunk(session, chunk, chunk.rows.rowData(index), staged);
              session.later('RELEASE SAVEPOINT medstream_row');
            } catch (error) {
              if (!isDataError(error)) throw error;
              await session.query('ROLLBACK TO SAVEPOINT medstream_row');
              const reason = new SchemaError(`${(error as Error).message} (table ${chunk.table.name})`, {
                cause: error,
              });
              for (const record of recordsOfRow(chunk, index)) refused.push({ record, error: reason });
            }
          }
        }
        await session.query('COMMIT');
        return refused;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new UnavailableError(`writing to PostgreSQL failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    });
  },
});
