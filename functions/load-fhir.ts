import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loadConfig } from '../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../lib/kafka/client';
import type { KafkaBatchResponse, KafkaEvent } from '../lib/kafka/event';
import { type DeadLetterSink, decodeKafkaEvent, jsonDecoder, settleBatch } from '../lib/kafka/records';
import { logger } from '../lib/logger';
import { createMongoClient, createMongoFhirStore, type FhirStore } from '../lib/mongo/fhir-store';
import { loadResources } from '../lib/mongo/load-resources';

export type LoadFhirDeps = {
  store: FhirStore;
  deadLetters: DeadLetterSink;
  functionName: string;
};

/**
 * Kafka-triggered on `fhir.<type>`: idempotent bulk upserts by id into one collection per resource
 * type. A store outage reports the records for retry; a record that is not a resource is dead-lettered.
 */
export const makeHandler =
  (deps: LoadFhirDeps) =>
  async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const { records, failures } = await decodeKafkaEvent(event, { value: jsonDecoder });
    const summary = await loadResources(records, deps.store);
    failures.push(...summary.failures);
    logger.info('load batch', {
      records: summary.records,
      resources: summary.resources,
      inserted: summary.inserted,
      replaced: summary.replaced,
      skipped: summary.skipped,
      failed: failures.length,
    });
    return settleBatch(failures, { deadLetters: deps.deadLetters, functionName: deps.functionName });
  };

export const buildHandler = (deps: LoadFhirDeps) =>
  middy<KafkaEvent, KafkaBatchResponse>(makeHandler(deps)).use(injectLambdaContext(logger));

const liveDeps = (): LoadFhirDeps => {
  const config = loadConfig();
  const mongo = createMongoClient(config.MONGODB_URI);
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-load-fhir` }),
  );
  return {
    store: createMongoFhirStore(mongo.db(config.MONGODB_DATABASE)),
    deadLetters: createDeadLetterPublisher(producer, config.DLQ_TOPIC),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'load-fhir',
  };
};

export const handler = buildHandler(liveDeps());
