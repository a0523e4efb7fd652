import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type BatchLedger, createMongoBatchStore } from '../lib/batches/mongo-batches';
import { planVerdicts, recordVerdicts, setAsideCancelled } from '../lib/batches/tracking';
import { loadConfig } from '../lib/config';
import { isRetryable } from '../lib/errors';
import type { MappingRegistry } from '../lib/fhir';
import {
  createDeadLetterPublisher,
  createKafka,
  createProducer,
  type MessageProducer,
} from '../lib/kafka/client';
import type { KafkaBatchResponse, KafkaEvent } from '../lib/kafka/event';
import { type DeadLetterSink, decodeKafkaEvent, jsonDecoder, settleBatch } from '../lib/kafka/records';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';
import { createTopicNames, type TopicNames } from '../lib/transform/messages';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';
import { publishByTopic, transformRecords } from '../lib/transform/transform-records';

export type TransformDeps = {
  registry: MappingRegistry;
  topics: TopicNames;
  producer: Pick<MessageProducer, 'send'>;
  deadLetters: DeadLetterSink;
  clock: () => Date;
  functionName: string;
  /** Batch tracking: records of cancelled batches are dropped, outcomes counted. Optional: untracked without. */
  batches?: BatchLedger;
};

/**
 * Kafka-triggered on `raw.<resource>`: raw resource rows → FHIR R4 resources → `fhir.<type>`
 * (key = resource id, batch header kept). A record the mapping rejects is dead-lettered with the
 * reason (mapping, attribute, column, rule, value type); a publish failure retries its records.
 */
export const makeHandler =
  (deps: TransformDeps) =>
  async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const decoded = await decodeKafkaEvent(event, { value: jsonDecoder });
    const { failures } = decoded;
    const { live: records, dropped } = await setAsideCancelled(decoded.records, deps.batches);
    const undecodable = failures.length;
    const output = transformRecords(records, deps.registry, deps.topics, deps.clock());
    failures.push(...output.failures);
    let published = output.transformed.length;
    try {
      await publishByTopic(deps.producer, output.byTopic);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      published = 0;
      failures.push(...output.transformed.map((record) => ({ record: record.source, error })));
    }
    logger.info('transform batch', {
      records: records.length + undecodable,
      published,
      rejected: output.failures.length + undecodable,
      skipped: output.skipped,
      retried: published === 0 ? output.transformed.length : 0,
      dropped: dropped.length,
    });
    const response = await settleBatch(failures, {
      deadLetters: deps.deadLetters,
      functionName: deps.functionName,
    });
    await recordVerdicts(
      deps.batches,
      planVerdicts({
        dropped,
        failures,
        succeeded: published === 0 ? [] : output.transformed,
        success: 'transformed',
      }),
      deps.clock(),
    );
    return response;
  };

export const buildHandler = (deps: TransformDeps) =>
  middy<KafkaEvent, KafkaBatchResponse>(makeHandler(deps)).use(injectLambdaContext(logger));

const liveDeps = (): TransformDeps => {
  const config = loadConfig();
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-transform` }),
  );
  const mongo = createMongoClient(config.MONGODB_URI);
  return {
    registry: loadShippedMappings(),
    topics: createTopicNames(),
    producer,
    deadLetters: createDeadLetterPublisher(producer, config.DLQ_TOPIC),
    clock: () => new Date(),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'transform',
    batches: createMongoBatchStore(mongo.db(config.MONGODB_DATABASE)),
  };
};

export const handler = buildHandler(liveDeps());
