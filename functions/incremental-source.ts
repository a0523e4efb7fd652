import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { createMongoBatchStore } from '../lib/batches/mongo-batches';
import { trackExtracted } from '../lib/batches/tracking';
import { loadConfig } from '../lib/config';
import { isRetryable } from '../lib/errors';
import { createPgSource } from '../lib/extract/pg-source';
import { createKafka, createProducer } from '../lib/kafka/client';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';
import {
  type IncrementalRunPorts,
  type PollReport,
  pollAllIncrementalSources,
  resolveIncrementalSource,
} from '../lib/sources/incremental';
import { createOffsetsPool, createPgClock, createPgOffsetStore } from '../lib/sources/pg-offsets';
import { createRawPublisher } from '../lib/sources/raw-messages';
import { loadShippedSourceConnectors } from '../lib/sources/shipped-connectors';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';

export type IncrementalSourceDeps = Omit<IncrementalRunPorts, 'log'> & {
  /** The database's clock: the timestamp horizon must not depend on the function's clock. */
  clock: { now(): Promise<Date> };
};

// Stop starting queries this long before the Lambda timeout: a page read, published and committed
// fits in it, and what is left is read by the next scheduled poll.
const SAFETY_MARGIN_MS = 10_000;

const log: IncrementalRunPorts['log'] = {
  polled: (report) => logger.info('incremental source polled', { ...report }),
  failed: (connector, error) =>
    logger.error('incremental source failed', {
      connector,
      retryable: isRetryable(error),
      error: error instanceof Error ? error.name : 'Error',
    }),
};

/** Scheduled: polls every JDBC source connector of `connectors/sources/` once (Kafka Connect semantics). */
export const makeHandler =
  (deps: IncrementalSourceDeps) =>
  async (
    _event: ScheduledEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<{ polls: PollReport[] }> =>
    pollAllIncrementalSources(
      { ...deps, log },
      {
        now: await deps.clock.now(),
        hasTime: () => context === undefined || context.getRemainingTimeInMillis() > SAFETY_MARGIN_MS,
      },
    );

const liveDeps = (): IncrementalSourceDeps => {
  const config = loadConfig();
  const registry = loadShippedMappings();
  const pool = createOffsetsPool({ connectionString: config.CLINICAL_DATABASE_URL });
  const batches = createMongoBatchStore(createMongoClient(config.MONGODB_URI).db(config.MONGODB_DATABASE));
  return {
    sources: loadShippedSourceConnectors().jdbc.map((connector) =>
      resolveIncrementalSource(connector, registry),
    ),
    reader: createPgSource({ connectionString: config.CLINICAL_DATABASE_URL }),
    offsets: createPgOffsetStore(pool),
    publisher: createRawPublisher(
      trackExtracted(
        createProducer(
          createKafka({
            brokers: config.KAFKA_BROKERS,
            clientId: `${config.KAFKA_CLIENT_ID}-incremental-source`,
          }),
        ),
        batches,
        'incremental-source',
        () => new Date(),
      ),
    ),
    clock: createPgClock(pool),
    newBatchId: randomUUID,
    batches,
  };
};

export const handler = middy(makeHandler(liveDeps())).use(injectLambdaContext(logger));
