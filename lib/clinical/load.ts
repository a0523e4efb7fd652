import { UnavailableError } from '../errors';
import {
  arrayTypeOf,
  CLINICAL_TABLE_ORDER,
  CLINICAL_TABLES,
  type ClinicalDataset,
  planClinicalDdl,
} from './schema';

/** The one thing the loader needs from a database client: a query on a single connection. */
export type SqlConnection = {
  query(text: string, values?: unknown[]): Promise<unknown>;
};

/** Rows loaded per table, in load order. */
export type LoadReport = { table: string; rows: number }[];

// One `unnest` parameter per column, so a chunk's size is bounded by memory only, not by the
// 65,535-parameter limit of a multi-row VALUES insert.
const CHUNK_ROWS = 20_000;

/** The bulk insert of one table: one array parameter per column, zipped by `unnest`. */
export const planBulkInsert = (table: keyof typeof CLINICAL_TABLES): string => {
  const columns = CLINICAL_TABLES[table].columns;
  const names = columns.map(([name]) => `"${name}"`).join(', ');
  const arrays = columns.map(([, type], index) => `$${index + 1}::${arrayTypeOf(type)}`).join(', ');
  return `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${arrays})`;
};

/**
 * Replaces the clinical tables with `dataset` in one transaction: drop, recreate, bulk insert. A
 * failed run leaves the previous database as it was, and a rerun gives the same tables.
 */
export const loadClinicalDataset = async (
  connection: SqlConnection,
  dataset: ClinicalDataset,
): Promise<LoadReport> => {
  const report: LoadReport = [];
  try {
    const ddl = planClinicalDdl();
    await connection.query('BEGIN');
    for (const statement of ddl.create) await connection.query(statement);
    for (const table of CLINICAL_TABLE_ORDER) {
      const rows = dataset[table] as readonly Record<string, unknown>[];
      const columns = CLINICAL_TABLES[table].columns.map(([name]) => name);
      const text = planBulkInsert(table);
      for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
        const chunk = rows.slice(start, start + CHUNK_ROWS);
        await connection.query(
          text,
          columns.map((column) => chunk.map((row) => row[column] ?? null)),
        );
      }
      report.push({ table, rows: rows.length });
    }
    for (const statement of ddl.finish) await connection.query(statement);
    await connection.query('ANALYZE');
    await connection.query('COMMIT');
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw new UnavailableError('loading the clinical database failed; it was rolled back', { cause: error });
  }
  return report;
};
