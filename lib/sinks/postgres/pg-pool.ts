import { Pool } from 'pg';

/**
 * A small pool per container: Lambda runs one batch at a time per container, so two connections
 * (DDL + writes) suffice. Sessions run in UTC so TIMESTAMP values are never shifted.
 */
export const createSinkPool = (connectionString: string, max = 2): Pool =>
  new Pool({ connectionString, max, options: '-c TimeZone=UTC', idleTimeoutMillis: 60_000 });
