import type { AvroSchema } from '../../avro/registry';
import { isRetryable, SchemaError } from '../../errors';
import type { RecordFailure } from '../../kafka/records';
import { INSERT_MODE, PK_MODE, type SinkConnectorConfig, subscribesTo, tableNameOf } from './config';
import { type ConnectSchema, toConnectSchema } from './connect-schema';
import { CopyRows } from './copy-rows';
import { parseTableRef, type TableRef } from './ddl';
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

/** A set of rows written with one COPY (+ one merge statement) inside the batch's transaction. */
export type WriteChunk<R> = {
  table: TableRef;
  kind: ChunkKind;
  statements: WriteStatements;
  /** The rows, as COPY text. */
  rows: CopyRows;
  /** Every record the chunk stands for, in record order (a row may stand for several: the last wins). */
  records: R[];
  /** The row of each record in `records`. */
  recordRows: number[];
};

/** Records turned into rows between two turns of the event loop. */
const YIELD_EVERY = 2000;

/** The records a chunk's row stands for. */
export const recordsOfRow = <R>(chunk: WriteChunk<R>, row: number): R[] =>
  chunk.records.filter((_record, index) => chunk.recordRows[index] === row);

/** Makes a table fit its fields: cached, DDL under a lock (auto.create / auto.evolve rules). */
export type TableStore = {
  ensureTable(table: TableRef, fields: readonly SinkField[]): Promise<void>;
  /** Drops a cached definition (the table vanished): the next ensureTable reads the catalog again. */
  forget(table: TableRef): void;
};

/** Writes chunks in one transaction; returns the records whose rows the database refused. */
export type ChunkWriter = {
  writeChunks<R>(chunks: WriteChunk<R>[]): Promise<{ record: R; error: unknown }[]>;
};

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

  return {
    /** Writes a batch: one transaction, chunks in record order, poison records returned as failures. */
    async sinkRecords<R extends SinkRecord>(records: readonly R[]): Promise<SinkResult<R>> {
      const failures: { record: R; error: unknown }[] = [];
      const chunks: (WriteChunk<R> & { planned: Planned; index: Map<string, number> })[] = [];
      let skipped = 0;

      for (let position = 0; position < records.length; position += 1) {
        const record = records[position] as R;
        // A batch is turned into rows synchronously, in slices: between them, the event loop
        // answers the database and broker for other partitions' batches in flight.
        if (position > 0 && position % YIELD_EVERY === 0) await new Promise(setImmediate);
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
          if (
            config.pkMode === PK_MODE.recordKey &&
            (record.key === null || record.keySchema === undefined)
          ) {
            throw new SchemaError(invalidRecordMessage(config, record, 'key'));
          }
          const planned = cachedPlanOf(record, tableName, tombstone);
          const rowKey = planned.rows.read(record);
          let chunk = chunks.at(-1);
          if (chunk === undefined || chunk.planned !== planned || chunk.rows.length >= config.batchSize) {
            chunk = {
              table: planned.table,
              kind: planned.kind,
              statements: planned.statements,
              rows: new CopyRows(),
              records: [],
              recordRows: [],
              planned,
              index: new Map(),
            };
            chunks.push(chunk);
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
      const refusedRecords = new Set(refused.map((failure) => failure.record));
      failures.push(...refused);
      let written = 0;
      let deleted = 0;
      for (const chunk of writable) {
        let count = chunk.records.length;
        if (refusedRecords.size > 0)
          count = chunk.records.filter((record) => !refusedRecords.has(record)).length;
        if (chunk.kind === CHUNK_KIND.delete) deleted += count;
        else written += count;
      }
      return { written, deleted, skipped, failures };
    },
  };
};

/** Maps sink failures to the batch's failure list (the records as the event delivered them). */
export const toRecordFailures = <R extends { source: RecordFailure['record'] }>(
  failures: { record: R; error: unknown }[],
): RecordFailure[] => failures.map(({ record, error }) => ({ record: record.source, error }));
