import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type BatchLedger, createMongoBatchStore } from '../lib/batches/mongo-batches';
import {
  type FailedRecord,
  parseFailureRecord,
  planFailureEntries,
  summarizeFailures,
} from '../lib/batches/on-failure';
import { loadConfig } from '../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../lib/kafka/client';
import type { KafkaBatchResponse, KafkaEvent } from '../lib/kafka/event';
import { type DeadLetterSink, decodeKafkaEvent, jsonDecoder, settleBatch } from '../lib/kafka/records';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';

export type CountFailuresDeps = {
  ledger: Pick<BatchLedger, 'record'>;
  deadLetters: DeadLetterSink;
  functionName: string;
  clock: () => Date;
};

/**
 * Kafka-triggered on the on-failure topics of the transform and the load
 * (`medstream.failed.transform`, `medstream.failed.load-fhir`): each record the event source
 * mapping gave up is counted as failed in its batch's ledger, which completes the batch if that was
 * its last open record. A failure record that cannot be parsed is dead-lettered.
 */
export const makeHandler =
  (deps: CountFailuresDeps) =>
  async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const decoded = await decodeKafkaEvent(event, { value: jsonDecoder });
    const { failures } = decoded;
    const undecodable = failures.length;
    const failed: FailedRecord[] = [];
    for (const record of decoded.records) {
      try {
        failed.push(...parseFailureRecord(record.value));
      } catch (error) {
        failures.push({ record: record.source, error });
      }
    }
    const response = await settleBatch(failures, {
      deadLetters: deps.deadLetters,
      functionName: deps.functionName,
    });
    const entries = planFailureEntries(failed);
    // A ledger outage throws (retryable): the delivery is retried and the ledger's _id dedupes it.
    const { counted } =
      entries.length === 0 ? { counted: 0 } : await deps.ledger.record(entries, deps.clock());
    logger.info('count failures batch', {
      records: decoded.records.length + undecodable,
      failed: summarizeFailures(failed),
      tracked: entries.length,
      counted,
      rejected: failures.length,
    });
    return response;
  };

export const buildHandler = (deps: CountFailuresDeps) =>
  middy<KafkaEvent, KafkaBatchResponse>(makeHandler(deps)).use(injectLambdaContext(logger));

const liveDeps = (): CountFailuresDeps => {
  const config = loadConfig();
  const db = createMongoClient(config.MONGODB_URI).db(config.MONGODB_DATABASE);
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-count-failures` }),
  );
  return {
    ledger: createMongoBatchStore(db),
    deadLetters: createDeadLetterPublisher(producer, config.DLQ_TOPIC),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'count-failures',
    clock: () => new Date(),
  };
};

export const handler = buildHandler(liveDeps());
