import type { AvroSchema } from '../../avro/registry';
import { isRetryable, SchemaError } from '../../errors';
import type { RecordFailure } from '../../kafka/records';
import { INSERT_MODE, PK_MODE, type SinkConnectorConfig, subscribesTo, tableNameOf } from './config';
import { type ConnectSchema, toConnectSchema } from './connect-schema';
import { CopyRows } from './copy-rows';
import { type ExistingTable, parseTableRef, type TableRef } from './ddl';
import { extractFieldsMetadata, type FieldsMetadata, type SinkField } from './fields';
import { createRowWriter, type RowWriter } from './row-writer';
import { CHUNK_KIND, type ChunkKind, planWriteStatements, type WriteStatements } from './statements';

/** The part of a decoded Kafka record the sink reads. */
export type SinkRecord = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown | null;
  value: unknown | null;
  keySchema?: AvroSchema;
  valueSchema?: AvroSchema;
};

/**
 * A chunk whose rows are still being built when the writer receives it: the writer can stream its
 * first COPY while the rest of the batch is turned into rows, so the database works meanwhile.
 */
export type ChunkProgress = {
  /** The COPY data of the rows as they are completed; ends once they all are (throws if building failed). */
  rowsAsBuilt(): AsyncIterable<Buffer>;
  /** Settles when every row of the chunk is there (rejects if building failed). */
  complete: Promise<void>;
};

/** A set of rows written with one COPY (+ one merge statement) inside the batch's transaction. */
export type WriteChunk<R> = {
  table: TableRef;
  kind: ChunkKind;
  statements: WriteStatements;
  /** The rows, as COPY text (complete once `progress`, if any, is). */
  rows: CopyRows;
  /** Every record the chunk stands for, in record order (a row may stand for several: the last wins). */
  records: R[];
  /** The row of each record in `records`. */
  recordRows: number[];
  /** Present while the rows are still being built. */
  progress?: ChunkProgress;
};

/** Records turned into rows between two turns of the event loop. */
const YIELD_EVERY = 2000;

/** The records a chunk's row stands for. */
export const recordsOfRow = <R>(chunk: WriteChunk<R>, row: number): R[] =>
  chunk.records.filter((_record, index) => chunk.recordRows[index] === row);

/**
 * Makes a table fit its fields: cached, DDL under a lock (auto.create / auto.evolve rules). Answers
 * the table's columns and their types, or undefined when its rows must be COPY text (the table
 * refused binary rows once).
 */
export type TableStore = {
  ensureTable(table: TableRef, fields: readonly SinkField[]): Promise<ExistingTable | undefined>;
  /**
   * Drops a cached definition (the table vanished, or its column types changed): the next
   * ensureTable reads the catalog again. With `binaryRefused`, the table gets text rows from then on.
   */
  forget(table: TableRef, binaryRefused?: boolean): void;
};

/**
 * Writes chunks in one transaction, in order, as they come; returns the records whose rows the
 * database refused.
 */
export type ChunkWriter = {
  writeChunks<R>(
    chunks: Iterable<WriteChunk<R>> | AsyncIterable<WriteChunk<R>>,
  ): Promise<{ record: R; error: unknown }[]>;
};

/** Wakes one waiter when something happened (more rows, a new chunk, the end). */
class Signal {
  private waiter: (() => void) | undefined;

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  notify(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** The progress of a chunk being built (its rows are never replaced, so completed bytes never move). */
class Building implements ChunkProgress {
  readonly complete: Promise<void>;
  private state: 'building' | 'complete' | 'failed' = 'building';
  private error: unknown;
  private readonly changed = new Signal();
  private settle: { resolve: () => void; reject: (error: unknown) => void } = {
    resolve: () => undefined,
    reject: () => undefined,
  };

  constructor(private readonly rows: CopyRows) {
    this.complete = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A writer that never needs every row (it failed first) never awaits this.
    this.complete.catch(() => undefined);
  }

  progressed(): void {
    this.changed.notify();
  }

  finish(): void {
    if (this.state !== 'building') return;
    this.state = 'complete';
    this.settle.resolve();
    this.changed.notify();
  }

  fail(error: unknown): void {
    if (this.state !== 'building') return;
    this.state = 'failed';
    this.error = error;
    this.settle.reject(error);
    this.changed.notify();
  }

  async *rowsAsBuilt(): AsyncIterable<Buffer> {
    let sent = 0;
    for (;;) {
      // Read afresh after every yield: the batch may have been finished meanwhile.
      if (this.state === 'failed') throw this.error;
      const upTo = this.rows.completedSize;
      if (upTo > sent) {
        yield this.rows.range(sent, upTo);
        sent = upTo;
        continue;
      }
      if (this.state === 'complete') {
        if (this.rows.trailer !== undefined) yield this.rows.trailer;
        return;
      }
      await this.changed.wait();
    }
  }
}

/** Chunks handed to the writer as the batch is built. */
class ChunkFeed<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private readonly changed = new Signal();

  push(item: T): void {
    this.items.push(item);
    this.changed.notify();
  }

  end(): void {
    this.ended = true;
    this.changed.notify();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.changed.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (let index = 0; ; ) {
      if (this.failure !== undefined) throw this.failure.error;
      if (index < this.items.length) {
        yield this.items[index++] as T;
        continue;
      }
      if (this.ended) return;
      await this.changed.wait();
    }
  }
}

/** What a batch did: rows written and deleted, records skipped (other topics) and failed. */
export type SinkResult<R> = {
  written: number;
  deleted: number;
  skipped: number;
  failures: { record: R; error: unknown }[];
};

type Planned = {
  table: TableRef;
  kind: ChunkKind;
  fields: FieldsMetadata;
  columns: SinkField[];
  /** Makes the plan's rows: transcoded from Avro bytes, or from decoded values. */
  rows: RowWriter;
  /** Rows are folded by key (the last record per key replaces its row): written only once built. */
  folded: boolean;
  /** The writer statements of this plan's chunks. */
  statements: WriteStatements;
};

const PK_MODE_NAME = {
  kafka: 'kafka',
  record_key: 'record_key',
  record_value: 'record_value',
  none: 'none',
} as const;

/** RecordValidator's message for a record the configured modes cannot write. */
const invalidRecordMessage = (
  config: SinkConnectorConfig,
  record: SinkRecord,
  what: 'key' | 'value',
): string => {
  const requirement =
    what === 'value'
      ? 'a non-null Struct value and non-null Struct schema'
      : 'a non-null key and non-null Struct or primitive key schema';
  const found =
    what === 'value'
      ? `${record.value === null ? 'null' : 'non-null'} value and ${record.valueSchema === undefined ? 'null' : 'non-null'} value schema`
      : `${record.key === null ? 'null' : 'non-null'} key and ${record.keySchema === undefined ? 'null' : 'non-null'} key schema`;
  return `Sink connector '${config.name}' is configured with 'delete.enabled=${config.deleteEnabled}' and 'pk.mode=${PK_MODE_NAME[config.pkMode]}' and therefore requires records with ${requirement}, but found record at (topic='${record.topic}',partition=${record.partition},offset=${record.offset},timestamp=${record.timestamp}) with a ${found}.`;
};

/** A table's column types by field: the column of the same name, or of its folded name. */
export const columnTypesOf = (table: ExistingTable): ((field: SinkField) => string | undefined) => {
  const exact = new Map(table.columns.map((column) => [column.name, column.type]));
  const folded = new Map(table.columns.map((column) => [column.name.toLowerCase(), column.type]));
  return (field) => exact.get(field.name) ?? folded.get(field.name.toLowerCase());
};

/**
 * The sink's pure core: maps records to table rows with Kafka Connect JDBC-sink semantics and
 * plans the chunks; the table store and the writer are the ports to the database.
 */
export const createPostgresSink = (
  config: SinkConnectorConfig,
  ports: { tables: Pick<TableStore, 'ensureTable'>; writer: ChunkWriter },
) => {
  const connectSchemas = new WeakMap<object, ConnectSchema>();

  const connectSchemaOf = (avro: AvroSchema | undefined): ConnectSchema | undefined => {
    if (avro === undefined) return undefined;
    if (typeof avro !== 'object') return toConnectSchema(avro);
    let converted = connectSchemas.get(avro);
    if (converted === undefined) {
      converted = toConnectSchema(avro);
      connectSchemas.set(avro, converted);
    }
    return converted;
  };

  // Plans are cached by schema identity (the registry hands out one object per schema id), so the
  // hot path never serializes a schema.
  const none = {};
  const interned = new Map<string, object>();
  const identityOf = (schema: AvroSchema | undefined): object => {
    if (schema === undefined) return none;
    if (typeof schema === 'object') return schema;
    let entry = interned.get(schema);
    if (entry === undefined) {
      entry = {};
      interned.set(schema, entry);
    }
    return entry;
  };
  const plans = new WeakMap<object, WeakMap<object, Map<string, Planned>>>();

  const planOf = (record: SinkRecord, tableName: string, tombstone: boolean): Planned => {
    const keyIdentity = identityOf(record.keySchema);
    const valueIdentity = tombstone ? none : identityOf(record.valueSchema);
    let byValue = plans.get(keyIdentity);
    if (byValue === undefined) {
      byValue = new WeakMap();
      plans.set(keyIdentity, byValue);
    }
    let byTable = byValue.get(valueIdentity);
    if (byTable === undefined) {
      byTable = new Map();
      byValue.set(valueIdentity, byTable);
    }
    const cacheKey = `${tombstone ? 'delete' : 'write'}:${tableName}`;
    let planned = byTable.get(cacheKey);
    if (planned === undefined) {
      const keySchema = connectSchemaOf(record.keySchema);
      const valueSchema = tombstone ? undefined : connectSchemaOf(record.valueSchema);
      const table = parseTableRef(tableName);
      const fields = extractFieldsMetadata(tableName, config, keySchema, valueSchema);
      const kind = tombstone ? CHUNK_KIND.delete : CHUNK_KIND.write;
      const columns = tombstone ? fields.allFields.filter((field) => field.isPrimaryKey) : fields.allFields;
      // Upserts, updates and deletes keep the last record per key within a chunk, as a set-based
      // statement cannot touch one row twice; plain inserts keep every row.
      // (Under pk.mode kafka every record of a batch has its own key, so there is nothing to fold.)
      const deduplicate =
        kind === CHUNK_KIND.delete ||
        (config.insertMode !== INSERT_MODE.insert && config.pkMode !== PK_MODE.kafka);
      const keyed = columns.some((field) => field.isPrimaryKey);
      planned = {
        table,
        kind,
        fields,
        columns,
        rows: createRowWriter(columns, deduplicate && keyed),
        folded: deduplicate && keyed,
        statements: planWriteStatements({
          table,
          columns,
          kind,
          insertMode: config.insertMode,
          pkMode: config.pkMode,
          quote: config.quoteIdentifiers,
        }),
      };
      byTable.set(cacheKey, planned);
    }
    return planned;
  };

  // Records of a batch mostly share one plan: the last one is checked before the caches.
  let last: { record: SinkRecord; tableName: string; tombstone: boolean; planned: Planned } | undefined;
  const cachedPlanOf = (record: SinkRecord, tableName: string, tombstone: boolean): Planned => {
    if (
      last !== undefined &&
      last.tableName === tableName &&
      last.tombstone === tombstone &&
      last.record.keySchema === record.keySchema &&
      last.record.valueSchema === record.valueSchema
    ) {
      return last.planned;
    }
    const planned = planOf(record, tableName, tombstone);
    last = { record, tableName, tombstone, planned };
    return planned;
  };

  // Per topic: whether it is subscribed and its table (a regex and a replace per record add up).
  const routes = new Map<string, string | undefined>();
  const tableOf = (topic: string): string | undefined => {
    if (!routes.has(topic))
      routes.set(topic, subscribesTo(config, topic) ? tableNameOf(config, topic) : undefined);
    return routes.get(topic);
  };

  type BuiltChunk<R> = WriteChunk<R> & { planned: Planned; index: Map<string, number> };
  type Failure<R> = { record: R; error: unknown };

  /**
   * Turns a batch into rows, chunk by chunk (a new chunk when the plan changes or batch.size rows
   * are reached), synchronously in slices: between them the event loop answers the database and
   * the broker for other partitions' batches in flight, and a writer streams what is built.
   */
  const buildChunks = async <R extends SinkRecord>(
    records: readonly R[],
    failures: Failure<R>[],
    hooks: { chunkStarted?(chunk: BuiltChunk<R>): void; sliceDone?(): void } = {},
    binaryPlan?: Planned,
  ): Promise<{ chunks: BuiltChunk<R>[]; skipped: number }> => {
    const chunks: BuiltChunk<R>[] = [];
    let skipped = 0;
    for (let position = 0; position < records.length; position += 1) {
      const record = records[position] as R;
      if (position > 0 && position % YIELD_EVERY === 0) {
        hooks.sliceDone?.();
        await new Promise(setImmediate);
      }
      const tableName = tableOf(record.topic);
      if (tableName === undefined) {
        skipped += 1;
        continue;
      }
      try {
        const tombstone = record.value === null;
        if (tombstone && !config.deleteEnabled)
          throw new SchemaError(invalidRecordMessage(config, record, 'value'));
        if (!tombstone && record.valueSchema === undefined)
          throw new SchemaError(invalidRecordMessage(config, record, 'value'));
        if (config.pkMode === PK_MODE.recordKey && (record.key === null || record.keySchema === undefined)) {
          throw new SchemaError(invalidRecordMessage(config, record, 'key'));
        }
        const planned = cachedPlanOf(record, tableName, tombstone);
        const rowKey = planned.rows.read(record, planned === binaryPlan);
        let chunk = chunks.at(-1);
        if (chunk === undefined || chunk.planned !== planned || chunk.rows.length >= config.batchSize) {
          chunk = {
            table: planned.table,
            kind: planned.kind,
            statements: planned.statements,
            rows: planned === binaryPlan ? CopyRows.binary(planned.columns.length) : CopyRows.text(),
            records: [],
            recordRows: [],
            planned,
            index: new Map(),
          };
          chunks.push(chunk);
          hooks.chunkStarted?.(chunk);
        }
        const existing = rowKey === undefined ? undefined : chunk.index.get(rowKey);
        const row = planned.rows.emit(chunk.rows, existing ?? -1);
        if (rowKey !== undefined && existing === undefined) chunk.index.set(rowKey, row);
        chunk.records.push(record);
        chunk.recordRows.push(row);
      } catch (error) {
        if (isRetryable(error)) throw error;
        failures.push({ record, error });
      }
    }
    return { chunks, skipped };
  };

  const summarize = <R>(
    written: readonly WriteChunk<R>[],
    refused: Failure<R>[],
    failures: Failure<R>[],
    skipped: number,
  ): SinkResult<R> => {
    const refusedRecords = new Set(refused.map((failure) => failure.record));
    failures.push(...refused);
    let rows = 0;
    let deleted = 0;
    for (const chunk of written) {
      let count = chunk.records.length;
      if (refusedRecords.size > 0)
        count = chunk.records.filter((record) => !refusedRecords.has(record)).length;
      if (chunk.kind === CHUNK_KIND.delete) deleted += count;
      else rows += count;
    }
    return { written: rows, deleted, skipped, failures };
  };

  /**
   * The write plan of every record of the batch, when they share one (one topic, one writer schema
   * each for key and value, no tombstone). Its table is made to fit before the batch is built, so
   * the rows can be in the format the table's column types allow; a plan whose rows are only ever
   * appended (not folded by key) is also streamed to the writer as it is built.
   */
  const uniformPlanOf = (records: readonly SinkRecord[]): Planned | undefined => {
    const first = records[0];
    if (first === undefined || first.value === null || first.valueSchema === undefined) return undefined;
    const tableName = tableOf(first.topic);
    if (tableName === undefined) return undefined;
    for (const record of records) {
      if (
        record.topic !== first.topic ||
        record.value === null ||
        record.valueSchema !== first.valueSchema ||
        record.keySchema !== first.keySchema
      )
        return undefined;
    }
    return cachedPlanOf(first, tableName, false);
  };

  /**
   * Builds the batch while the writer already streams its first chunk's rows into the database;
   * with `binaryPlan`, that plan's rows are in COPY's binary format.
   */
  const streamRecords = async <R extends SinkRecord>(
    records: readonly R[],
    binaryPlan: Planned | undefined,
  ): Promise<SinkResult<R>> => {
    const failures: Failure<R>[] = [];
    const feed = new ChunkFeed<WriteChunk<R>>();
    const writing = ports.writer.writeChunks(feed);
    // Awaited below; until then a writer that fails early must not count as unhandled.
    writing.catch(() => undefined);
    let building: Building | undefined;
    let built: { chunks: BuiltChunk<R>[]; skipped: number };
    try {
      built = await buildChunks(
        records,
        failures,
        {
          chunkStarted: (chunk) => {
            building?.finish();
            building = new Building(chunk.rows);
            chunk.progress = building;
            feed.push(chunk);
          },
          sliceDone: () => building?.progressed(),
        },
        binaryPlan,
      );
      building?.finish();
      feed.end();
    } catch (error) {
      // The writer rolls back; the batch fails with this error, not the writer's.
      building?.fail(error);
      feed.fail(error);
      await writing.catch(() => undefined);
      throw error;
    }
    return summarize(built.chunks, await writing, failures, built.skipped);
  };

  /**
   * Builds every chunk first, then makes the tables fit, then writes (rows in COPY text, but
   * `binaryPlan`'s in binary).
   */
  const sinkPlanned = async <R extends SinkRecord>(
    records: readonly R[],
    binaryPlan?: Planned,
  ): Promise<SinkResult<R>> => {
    const failures: Failure<R>[] = [];
    const { chunks, skipped } = await buildChunks(records, failures, {}, binaryPlan);
    // DDL first, outside the write transaction, once per distinct field set in the batch.
    const failedPlans = new Map<Planned, unknown>();
    for (const chunk of chunks) {
      if (chunk.kind !== CHUNK_KIND.write || failedPlans.has(chunk.planned)) continue;
      try {
        await ports.tables.ensureTable(chunk.table, chunk.planned.fields.allFields);
      } catch (error) {
        if (isRetryable(error)) throw error;
        failedPlans.set(chunk.planned, error);
      }
    }
    const writable: WriteChunk<R>[] = [];
    for (const chunk of chunks) {
      const error = failedPlans.get(chunk.planned);
      if (error === undefined) writable.push(chunk);
      else for (const record of chunk.records) failures.push({ record, error });
    }
    const refused = writable.length === 0 ? [] : await ports.writer.writeChunks(writable);
    return summarize(writable, refused, failures, skipped);
  };

  return {
    /** Writes a batch: one transaction, chunks in record order, poison records returned as failures. */
    async sinkRecords<R extends SinkRecord>(records: readonly R[]): Promise<SinkResult<R>> {
      const uniform = uniformPlanOf(records);
      if (uniform === undefined) return sinkPlanned(records);
      let existing: ExistingTable | undefined;
      try {
        // DDL before the write transaction starts (it runs on a connection of its own).
        existing = await ports.tables.ensureTable(uniform.table, uniform.fields.allFields);
      } catch {
        // sinkPlanned tries again and reports the failure as it does for any plan.
        return sinkPlanned(records);
      }
      // PostgreSQL stores binary cells without parsing text: used when every column allows it.
      const binary =
        existing !== undefined && uniform.rows.binaryFor(records, columnTypesOf(existing))
          ? uniform
          : undefined;
      return uniform.folded ? sinkPlanned(records, binary) : streamRecords(records, binary);
    },
  };
};

/** Maps sink failures to the batch's failure list (the records as the event delivered them). */
export const toRecordFailures = <R extends { source: RecordFailure['record'] }>(
  failures: { record: R; error: unknown }[],
): RecordFailure[] => failures.map(({ record, error }) => ({ record: record.source, error }));
