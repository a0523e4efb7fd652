import { Pool, types } from 'pg';
import { UnavailableError } from '../errors';
import type { SourceRow } from '../fhir';
import { type ClinicalSource, SourceInputError, SourceQueryError } from './source';

const TIMESTAMP_OID = 1114;

// TIMESTAMP WITHOUT TIME ZONE as the text PostgreSQL sends: pg would otherwise read it in the
// process's local zone; the mappings' cleaning functions read it as UTC, as MIMIC means it.
const getTypeParser = ((oid: number, format?: string) =>
  oid === TIMESTAMP_OID
    ? (value: string) => value
    : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser;

/**
 * Sorts a pg failure into the error policy by SQLSTATE class: 22 (data exception: a bound key of
 * the wrong type) is the caller's; 08/53/57/58 and socket errors are an outage; anything else is a
 * query the schema does not accept. Messages are ours: a driver message can quote values.
 */
export const classifyPgError = (error: unknown): Error => {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('22')) {
    return new SourceInputError('a bound value does not fit its source column', { cause: error });
  }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|53|57|58)/.test(code)) {
    return new SourceQueryError(`the source rejected a generated query (SQLSTATE ${code})`, { cause: error });
  }
  return new UnavailableError('the clinical database is unavailable', { cause: error });
};

export type PgSourceOptions = {
  connectionString: string;
  /** Schema the generated (unqualified) table names resolve in; tests and benchmarks use their own. */
  schema?: string;
  maxConnections?: number;
  connectTimeoutMs?: number;
};

/** A pooled PostgreSQL source. Create it once at module scope; `end` only in tests and scripts. */
export const createPgSource = (options: PgSourceOptions): ClinicalSource & { end(): Promise<void> } => {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new RangeError('schema must be a lower-case SQL identifier');
  }
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 2,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    types: { getTypeParser },
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle client's connection dropping must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return {
    async query(query) {
      try {
        return (await pool.query(query.text, query.values)).rows as SourceRow[];
      } catch (error) {
        throw classifyPgError(error);
      }
    },
    end: () => pool.end(),
  };
};
