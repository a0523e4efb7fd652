import { isRetryable } from '../../errors';
import type { KafkaBatchResponse, KafkaEvent } from '../../kafka/event';
import { type DeadLetterSink, type Decoders, decodeKafkaEvent, settleBatch } from '../../kafka/records';
import { logger } from '../../logger';
import type { SinkConnectorConfig } from './config';
import { type ChunkWriter, createPostgresSink, type TableStore, toRecordFailures } from './sink';

/** What the Kafka-triggered sink is built from: the connector config and its adapters. */
export type SinkHandlerDeps = {
  connector: SinkConnectorConfig;
  decoders: Decoders;
  tables: TableStore;
  writer: ChunkWriter;
  deadLetters: DeadLetterSink;
  functionName: string;
};

/**
 * The sink as an ESM handler: decodes the batch, writes it in one transaction with the connector's
 * semantics, dead-letters what can never be written and reports the rest for retry.
 */
export const createSinkHandler = (deps: SinkHandlerDeps) => {
  const sink = createPostgresSink(deps.connector, { tables: deps.tables, writer: deps.writer });
  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const { records, failures } = await decodeKafkaEvent(event, deps.decoders);
    // The event's records: those that decoded, and those that did not (already failures).
    const received = records.length + failures.length;
    try {
      const result = await sink.sinkRecords(records);
      failures.push(...toRecordFailures(result.failures));
      logger.info('sink batch written', {
        connector: deps.connector.name,
        records: received,
        written: result.written,
        deleted: result.deleted,
        skipped: result.skipped,
        failed: failures.length,
      });
    } catch (error) {
      if (!isRetryable(error)) throw error;
      // The transaction rolled back: every decoded record is retried (ReportBatchItemFailures
      // restarts each partition at its lowest reported offset).
      failures.push(...records.map((record) => ({ record: record.source, error })));
    }
    return settleBatch(failures, { deadLetters: deps.deadLetters, functionName: deps.functionName });
  };
};
