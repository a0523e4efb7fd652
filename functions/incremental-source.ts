import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { type BatchRegistry, createMongoBatchStore } from '../lib/batches/mongo-batches';
import { trackExtracted } from '../lib/batches/tracking';
import { loadConfig } from '../lib/config';
import { isRetryable } from '../lib/errors';
import { createPgSource } from '../lib/extract/pg-source';
import { createKafka, createProducer } from '../lib/kafka/client';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';
import {
  type IncrementalSource,
  type OffsetStore,
  type PollReport,
  pollIncrementalSource,
  type RowReader,
  resolveIncrementalSource,
} from '../lib/sources/incremental';
import { createOffsetsPool, createPgClock, createPgOffsetStore } from '../lib/sources/pg-offsets';
import { createRawPublisher, type RawPublisher } from '../lib/sources/raw-messages';
import { loadShippedSourceConnectors } from '../lib/sources/shipped-connectors';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';

export type IncrementalSourceDeps = {
  sources: readonly IncrementalSource[];
  reader: RowReader;
  offsets: OffsetStore;
  publisher: RawPublisher;
  /** The database's clock: the timestamp horizon must not depend on the function's clock. */
  clock: { now(): Promise<Date> };
  newBatchId: () => string;
  /**
   * Batch tracking: a poll's batch is registered by its first acknowledged publish (the publisher's
   * producer counts it, see trackExtracted) and sealed here when the poll ends.
   */
  batches?: Pick<BatchRegistry, 'seal'>;
};

// Stop starting queries this long before the Lambda timeout: a page read, published and committed
// fits in it, and what is left is read by the next scheduled poll.
const SAFETY_MARGIN_MS = 10_000;

/**
 * Scheduled: polls every JDBC source connector of `connectors/sources/` once, Kafka Connect
 * semantics, each poll reading until caught up or out of time. Connectors are independent: one
 * failing does not stop the others; the invocation then fails so the failure is visible and retried.
 */
export const makeHandler =
  (deps: IncrementalSourceDeps) =>
  async (
    _event: ScheduledEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<{ polls: PollReport[] }> => {
    const now = await deps.clock.now();
    const hasTime = () => context === undefined || context.getRemainingTimeInMillis() > SAFETY_MARGIN_MS;
    const polls: PollReport[] = [];
    const failures: unknown[] = [];
    for (const source of deps.sources) {
      const batchId = deps.newBatchId();
      try {
        const report = await pollIncrementalSource(source, deps, { now, batchId, hasTime });
        await deps.batches?.seal(batchId, new Date());
        logger.info('incremental source polled', { ...report });
        polls.push(report);
      } catch (error) {
        logger.error('incremental source failed', {
          connector: source.config.name,
          retryable: isRetryable(error),
          error: error instanceof Error ? error.name : 'Error',
        });
        failures.push(error);
        // What the poll published before failing is in flight; sealed, its batch can complete.
        await deps.batches?.seal(batchId, new Date()).catch(() => undefined);
      }
    }
    if (failures.length > 0) throw failures[0];
    return { polls };
  };

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
