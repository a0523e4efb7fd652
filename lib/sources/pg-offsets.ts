import { Pool } from 'pg';
import { UnavailableError } from '../errors';
import type { OffsetStore, SourceOffset } from './incremental';

const unavailable = (what: string) => (cause: unknown) => {
  throw new UnavailableError(`clinical database: cannot ${what}`, { cause });
};

/**
 * One connection for offsets and the clock (rows are read through extract's pooled source).
 * `schema` puts the offsets table in a schema of the caller's (tests).
 */
export const createOffsetsPool = (options: { connectionString: string; schema?: string }): Pool => {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new RangeError('schema must be a lower-case SQL identifier');
  }
  const pool = new Pool({
    connectionString: options.connectionString,
    max: 1,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    options: `-c TimeZone=UTC${options.schema === undefined ? '' : ` -c search_path=${options.schema}`}`,
  });
  // An idle connection dropping must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
};

/** The database's clock: the timestamp+incrementing horizon is the server's time, as in Connect. */
export const createPgClock = (pool: Pool): { now(): Promise<Date> } => ({
  async now() {
    const result = await pool
      .query<{ now: string }>(
        `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now`,
      )
      .catch(unavailable('read the clock'));
    const text = result.rows[0]?.now;
    if (text === undefined) throw new UnavailableError('clinical database: no clock');
    return new Date(text);
  },
});

/**
 * Offsets live in a table of the source database rather than in a compacted topic like Connect's
 * `connect-offsets`: a cold start reads one row by primary key instead of consuming a topic to its
 * end, and the offsets are reachable exactly when the source they describe is. Publishing and
 * committing cannot be one transaction either way, so delivery is at-least-once.
 */
export const OFFSETS_TABLE = 'medstream_source_offsets';

const CREATE_OFFSETS = `CREATE TABLE IF NOT EXISTS ${OFFSETS_TABLE} (
  connector TEXT NOT NULL,
  source_table TEXT NOT NULL,
  "offset" JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (connector, source_table)
)`;

// Two cold starts racing on CREATE TABLE IF NOT EXISTS can collide on the catalog's unique index.
const ALREADY_EXISTS = new Set(['42P07', '23505']);

/** The offsets table, created on first use; one row per connector and table (Connect's partition). */
export const createPgOffsetStore = (pool: Pool): OffsetStore => {
  let ready: Promise<void> | undefined;
  const ensureTable = (): Promise<void> => {
    ready ??= pool
      .query(CREATE_OFFSETS)
      .then(() => undefined)
      .catch((cause: { code?: string }) => {
        if (ALREADY_EXISTS.has(cause.code ?? '')) return;
        ready = undefined;
        unavailable('create the offsets table')(cause);
      });
    return ready;
  };
  return {
    async read(connector, table) {
      await ensureTable();
      const result = await pool
        .query<{ offset: SourceOffset }>(
          `SELECT "offset" FROM ${OFFSETS_TABLE} WHERE connector = $1 AND source_table = $2`,
          [connector, table],
        )
        .catch(unavailable('read an offset'));
      return result.rows[0]?.offset;
    },
    async commit(connector, table, offset) {
      await ensureTable();
      await pool
        .query(
          `INSERT INTO ${OFFSETS_TABLE} (connector, source_table, "offset") VALUES ($1, $2, $3)
           ON CONFLICT (connector, source_table) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now()`,
          [connector, table, JSON.stringify(offset)],
        )
        .catch(unavailable('commit an offset'));
    },
  };
};
