import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Db } from 'mongodb';
import { buildHandler as buildBatchesHandler } from '../../../functions/batches';
import { buildHandler as buildExtractHandler } from '../../../functions/extract';
import { buildHandler as buildLoadHandler } from '../../../functions/load-fhir';
import { buildHandler as buildTransformHandler } from '../../../functions/transform';
import type { BatchView } from '../../../lib/batches/model';
import { createMongoBatchStore } from '../../../lib/batches/mongo-batches';
import type { ClinicalSource } from '../../../lib/extract/source';
import { createDeadLetterPublisher, createKafka, createProducer } from '../../../lib/kafka/client';
import type { KafkaEvent } from '../../../lib/kafka/event';
import { createMongoFhirStore } from '../../../lib/mongo/fhir-store';
import { createBindingFhirStore, createMongoReferenceBinder } from '../../../lib/references/mongo-binder';
import type { TopicNames } from '../../../lib/transform/messages';
import { config, context, registerCleanup, registry, uniqueId } from '../fhir/support';

/**
 * The pipeline as the live functions wire it (batch tracking on every stage, the binding store in
 * the load), on the test's own topics and database, plus the batches HTTP function.
 */
export const createTrackedPipeline = (options: {
  source: ClinicalSource;
  db: Db;
  topics: TopicNames;
  dlqTopic: string;
}) => {
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `batches-tests-${uniqueId()}` }),
  );
  registerCleanup(() => producer.disconnect());
  const deadLetters = createDeadLetterPublisher(producer, options.dlqTopic);
  const batches = createMongoBatchStore(options.db);
  const clock = () => new Date();
  const extract = buildExtractHandler({
    registry,
    source: options.source,
    producer,
    topics: options.topics,
    pageSize: 7,
    clock,
    newBatchId: randomUUID,
    batches,
  });
  const transform = buildTransformHandler({
    registry,
    topics: options.topics,
    producer,
    deadLetters,
    clock,
    functionName: 'transform-test',
    batches,
  });
  const load = buildLoadHandler({
    store: createBindingFhirStore(createMongoFhirStore(options.db), createMongoReferenceBinder(options.db)),
    deadLetters,
    functionName: 'load-fhir-test',
    batches,
    clock,
  });
  const api = buildBatchesHandler({ batches, clock });
  const request = async (method: string, id?: string, query?: Record<string, string>) => {
    const event = {
      requestContext: { http: { method } },
      rawPath: id === undefined ? '/batches' : `/batches/${id}`,
      ...(id === undefined ? {} : { pathParameters: { id } }),
      ...(query === undefined ? {} : { queryStringParameters: query }),
    } as unknown as APIGatewayProxyEventV2;
    const response = (await api(event, context)) as APIGatewayProxyStructuredResultV2;
    return { statusCode: response.statusCode, json: JSON.parse(response.body ?? 'null') as unknown };
  };
  return {
    producer,
    batches,
    extract: async (resource: string): Promise<{ batchId: string; resources: number }> => {
      const response = (await extract(
        { pathParameters: { resource }, isBase64Encoded: false } as unknown as APIGatewayProxyEventV2,
        context,
      )) as APIGatewayProxyStructuredResultV2;
      if (response.statusCode !== 202) throw new Error(`extract answered ${response.statusCode}`);
      return JSON.parse(response.body ?? '{}') as { batchId: string; resources: number };
    },
    transform: (event: KafkaEvent) => transform(event, context),
    load: (event: KafkaEvent) => load(event, context),
    getBatch: async (id: string): Promise<BatchView> => {
      const response = await request('GET', id);
      if (response.statusCode !== 200) throw new Error(`GET /batches/${id} answered ${response.statusCode}`);
      return response.json as BatchView;
    },
    request,
  };
};

/** The figures of one resource of a batch view. */
export const countsOf = (view: BatchView, resource: string) => {
  const entry = view.resources.find((candidate) => candidate.resource === resource);
  if (entry === undefined) throw new Error(`batch ${view.id} has no ${resource}`);
  const { resource: _, ...counts } = entry;
  return counts;
};
