import { Pool } from 'pg';
import { logger } from '../../logger';

/**
 * A small pool per container: Lambda runs one batch at a time per container, so two connections
 * (DDL + writes) suffice. Sessions run in UTC so TIMESTAMP values are never shifted.
 *
 * A connection the server drops (a restart: "terminating connection due to administrator command",
 * a network cut) emits an error event on its client, idle or in use. Unheard, that event would end
 * the process with every batch in flight; heard, the client is discarded, a query on it fails, the
 * batch is retried (UnavailableError), and the next connection is a fresh one.
 */
export const createSinkPool = (connectionString: string, max = 2): Pool => {
  const pool = new Pool({
    connectionString,
    max,
    options: '-c TimeZone=UTC',
    idleTimeoutMillis: 60_000,
    connectionTimeoutMillis: 10_000,
    application_name: 'medstream-sink',
  });
  const dropped = (error: Error) =>
    logger.warn('a PostgreSQL connection of the sink was dropped', { error: error.message });
  // Idle clients: the pool re-emits their errors and removes them.
  pool.on('error', dropped);
  // Clients in use (a batch's transaction): their own error event.
  pool.on('connect', (client) => client.on('error', dropped));
  return pool;
};
