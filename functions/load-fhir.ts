import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type BatchLedger, createMongoBatchStore } from '../lib/batches/mongo-batches';
import { planVerdicts, recordVerdicts, setAsideCancelled } from '../lib/batches/tracking';
import { loadConfig } from '../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../lib/kafka/client';
import type { KafkaBatchResponse, KafkaEvent } from '../lib/kafka/event';
import { type DeadLetterSink, decodeKafkaEvent, jsonDecoder, settleBatch } from '../lib/kafka/records';
import { logger } from '../lib/logger';
import { createMongoClient, createMongoFhirStore, type FhirStore } from '../lib/mongo/fhir-store';
import { loadResources } from '../lib/mongo/load-resources';
import { createBindingFhirStore, createMongoReferenceBinder } from '../lib/references/mongo-binder';

export type LoadFhirDeps = {
  store: FhirStore;
  deadLetters: DeadLetterSink;
  functionName: string;
  /** Batch tracking: records of cancelled batches are dropped, outcomes counted. Optional: untracked without. */
  batches?: BatchLedger;
  clock?: () => Date;
};

/**
 * Kafka-triggered on `fhir.<type>`: idempotent bulk upserts by id into one collection per resource
 * type. A store outage reports the records for retry; a record that is not a resource is dead-lettered.
 */
export const makeHandler =
  (deps: LoadFhirDeps) =>
  async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const decoded = await decodeKafkaEvent(event, { value: jsonDecoder });
    const { failures } = decoded;
    const { live: records, dropped } = await setAsideCancelled(decoded.records, deps.batches);
    const summary = await loadResources(records, deps.store);
    failures.push(...summary.failures);
    logger.info('load batch', {
      records: summary.records,
      resources: summary.resources,
      inserted: summary.inserted,
      replaced: summary.replaced,
      skipped: summary.skipped,
      failed: failures.length,
      dropped: dropped.length,
    });
    const response = await settleBatch(failures, {
      deadLetters: deps.deadLetters,
      functionName: deps.functionName,
    });
    // Loaded = a raw record whose resource was written (a tombstone is not a resource).
    const failed = new Set(failures.map((failure) => failure.record));
    await recordVerdicts(
      deps.batches,
      planVerdicts({
        dropped,
        failures,
        succeeded: records.filter((record) => record.value !== null && !failed.has(record.source)),
        success: 'loaded',
      }),
      (deps.clock ?? (() => new Date()))(),
    );
    return response;
  };

export const buildHandler = (deps: LoadFhirDeps) =>
  middy<KafkaEvent, KafkaBatchResponse>(makeHandler(deps)).use(injectLambdaContext(logger));

const liveDeps = (): LoadFhirDeps => {
  const config = loadConfig();
  const db = createMongoClient(config.MONGODB_URI).db(config.MONGODB_DATABASE);
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-load-fhir` }),
  );
  return {
    store: createBindingFhirStore(createMongoFhirStore(db), createMongoReferenceBinder(db)),
    deadLetters: createDeadLetterPublisher(producer, config.DLQ_TOPIC),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'load-fhir',
    batches: createMongoBatchStore(db),
    clock: () => new Date(),
  };
};

export const handler = buildHandler(liveDeps());
