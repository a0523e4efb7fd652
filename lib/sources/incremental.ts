import { describeSourceFailure } from '../batches/model';
import { ConfigError } from '../errors';
import type { ClinicalSource } from '../extract/source';
import type { CompiledMapping, MappingRegistry } from '../fhir/compile';
import { MappingError } from '../fhir/errors';
import { groupRowsByKey, type RowGroup, type SourceRow } from '../fhir/rows';
import { buildChangeQuery, buildPageQuery, type KeyValue, type SqlQuery } from '../fhir/sql';
import { JDBC_SOURCE_MODE, type JdbcSourceConfig } from './jdbc-config';
import type { RawPublisher } from './raw-messages';

/**
 * Where a connector stopped, in Kafka Connect's offset vocabulary: the last incrementing value
 * and, in timestamp+incrementing mode, its timestamp as the database printed it (text keeps the
 * microseconds a JavaScript Date would drop, so `>` on the next poll is exact).
 */
export type SourceOffset = { incrementing: KeyValue; timestamp?: string };

/** Durable offsets, one per connector (Connect's `connect-offsets` partition is the table). */
export type OffsetStore = {
  read(connector: string, table: string): Promise<SourceOffset | undefined>;
  commit(connector: string, table: string, offset: SourceOffset): Promise<void>;
};

/** The only thing the incremental source needs of the database: extract's port, run a generated query. */
export type RowReader = ClinicalSource;

/** A connector checked against its mapping, ready to poll. */
export type IncrementalSource = { config: JdbcSourceConfig; compiled: CompiledMapping };

/** What one poll did, in counts (never values: the offset holds patient keys and is not reported). */
export type PollReport = {
  connector: string;
  mode: JdbcSourceConfig['mode'];
  queries: number;
  rows: number;
  resources: number;
  /** True when the last query returned fewer resources than batch.max.rows: nothing left to read. */
  caughtUp: boolean;
};

// The row key under which buildChangeQuery returns each row's timestamp.
const TIMESTAMP_FIELD = '$timestamp';

/** Checks a JDBC source file against the mapping it names: same table, key = incrementing column. */
export const resolveIncrementalSource = (
  config: JdbcSourceConfig,
  registry: MappingRegistry,
): IncrementalSource => {
  const compiled = registry.get(config.mapping);
  const where = `connector ${config.name}`;
  if (compiled === undefined) throw new ConfigError(`${where}: unknown mapping ${config.mapping}`);
  const { source } = compiled.mapping;
  if (source.table !== config.table) {
    throw new ConfigError(
      `${where}: table.whitelist ${config.table} is not the mapping's table ${source.table}`,
    );
  }
  // The generated SQL pages and tells resources apart by the mapping's key: it is the connector's
  // strictly incrementing column, or the offset could not say where a poll stopped.
  if (source.primaryKey !== config.incrementingColumn) {
    throw new ConfigError(
      `${where}: incrementing.column.name must be the mapping's primary key ${source.primaryKey}`,
    );
  }
  return { config, compiled };
};

/** `until` for timestamp+incrementing: rows younger than the delay are left for a later poll. */
export const readHorizon = (now: Date, delayMs: number): string =>
  new Date(now.getTime() - delayMs).toISOString();

/** The query of the next page after `offset`, with Kafka Connect's WHERE semantics per mode. */
export const planChangeQuery = (
  source: IncrementalSource,
  offset: SourceOffset | undefined,
  now: Date,
): SqlQuery => {
  const { config, compiled } = source;
  if (config.mode === JDBC_SOURCE_MODE.incrementing) {
    // Connect: WHERE inc > ? ORDER BY inc. Updates of existing rows are not seen in this mode.
    return buildPageQuery(compiled, { after: offset?.incrementing, limit: config.batchMaxRows });
  }
  if (offset !== undefined && offset.timestamp === undefined) {
    throw new MappingError(
      `connector ${config.name}: stored offset has no timestamp; reset it to change mode`,
    );
  }
  // Connect: WHERE ts < horizon AND ((ts = ? AND inc > ?) OR ts > ?) ORDER BY ts, inc.
  return buildChangeQuery(compiled, {
    timestampColumn: `${config.table}.${config.timestampColumn}`,
    since:
      offset?.timestamp === undefined ? undefined : { timestamp: offset.timestamp, key: offset.incrementing },
    until: readHorizon(now, config.timestampDelayMs),
    limit: config.batchMaxRows,
  });
};

const withoutTimestamp = (row: SourceRow): SourceRow => {
  if (!(TIMESTAMP_FIELD in row)) return row;
  const { [TIMESTAMP_FIELD]: _, ...rest } = row;
  return rest;
};

const offsetAfter = (source: IncrementalSource, last: SourceRow): SourceOffset => {
  const key = last[source.compiled.keyColumn];
  if (typeof key !== 'string' && typeof key !== 'number') {
    throw new MappingError(`connector ${source.config.name}: the incrementing column is NULL`);
  }
  if (source.config.mode === JDBC_SOURCE_MODE.incrementing) return { incrementing: key };
  const timestamp = last[TIMESTAMP_FIELD];
  // TIMESTAMP columns arrive as the database's text (exact); a TIMESTAMPTZ arrives as a Date, to the
  // millisecond, which can only make a later poll re-read a row, never skip one.
  if (typeof timestamp === 'string') return { incrementing: key, timestamp };
  if (timestamp instanceof Date) return { incrementing: key, timestamp: timestamp.toISOString() };
  throw new MappingError(`connector ${source.config.name}: the timestamp column is NULL or not a timestamp`);
};

/**
 * One poll of an incremental source: pages of at most batch.max.rows resources after the stored
 * offset, each page's resources published whole to the raw topic, then the offset committed. The
 * offset moves only after the publish succeeded (at-least-once; downstream ids are deterministic,
 * so a replayed resource replaces itself). An update re-publishes every row of its resource.
 */
export const pollIncrementalSource = async (
  source: IncrementalSource,
  ports: { reader: RowReader; offsets: OffsetStore; publisher: RawPublisher },
  context: { now: Date; batchId: string; hasTime: () => boolean },
): Promise<PollReport> => {
  const { config } = source;
  const report: PollReport = {
    connector: config.name,
    mode: config.mode,
    queries: 0,
    rows: 0,
    resources: 0,
    caughtUp: false,
  };
  let offset = await ports.offsets.read(config.name, config.table);
  while (context.hasTime()) {
    const rows = await ports.reader.query(planChangeQuery(source, offset, context.now));
    report.queries += 1;
    const last = rows.at(-1);
    if (last === undefined) {
      report.caughtUp = true;
      break;
    }
    const groups: RowGroup[] = groupRowsByKey(source.compiled, rows.map(withoutTimestamp));
    await ports.publisher.publish(config.topic, config.mapping, groups, context.batchId);
    offset = offsetAfter(source, last);
    await ports.offsets.commit(config.name, config.table, offset);
    report.rows += rows.length;
    report.resources += groups.length;
    if (groups.length < config.batchMaxRows) {
      report.caughtUp = true;
      break;
    }
  }
  return report;
};

/** What one scheduled run of every incremental source needs. */
export type IncrementalRunPorts = {
  sources: readonly IncrementalSource[];
  reader: RowReader;
  offsets: OffsetStore;
  publisher: RawPublisher;
  newBatchId: () => string;
  /** Batch tracking: a poll's batch is registered by its first publish and sealed when the poll ends. */
  batches?: { seal(batchId: string, at: Date, failure?: string): Promise<unknown> };
  log: {
    polled(report: PollReport): void;
    failed(connector: string, error: unknown): void;
  };
};

/**
 * Polls every source once. Sources are independent: one failing does not stop the others, and its
 * batch is still sealed (what it published is in flight and can complete); the first failure is
 * then thrown so the run is visible as failed and retried.
 */
export const pollAllIncrementalSources = async (
  ports: IncrementalRunPorts,
  context: { now: Date; hasTime: () => boolean },
): Promise<{ polls: PollReport[] }> => {
  const polls: PollReport[] = [];
  const failures: unknown[] = [];
  for (const source of ports.sources) {
    const batchId = ports.newBatchId();
    try {
      const report = await pollIncrementalSource(source, ports, { ...context, batchId });
      await ports.batches?.seal(batchId, new Date());
      ports.log.polled(report);
      polls.push(report);
    } catch (error) {
      ports.log.failed(source.config.name, error);
      failures.push(error);
      await ports.batches?.seal(batchId, new Date(), describeSourceFailure(error)).catch(() => undefined);
    }
  }
  if (failures.length > 0) throw failures[0];
  return { polls };
};
