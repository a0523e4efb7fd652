import middy from '@middy/core';
import { createAvroRegistry } from '../lib/avro/registry';
import { createReadingPublisher } from '../lib/biometrics/publisher';
import { createSimulation, type Simulation, type SimulationRun } from '../lib/biometrics/simulation';
import { createPopulation } from '../lib/biometrics/simulator';
import { loadConfig } from '../lib/config';
import { createKafka, createProducer } from '../lib/kafka/client';
import { logger } from '../lib/logger';
import { createSeededRandom } from '../lib/random';

export type SimulateDeps = {
  simulation: Pick<Simulation, 'catchUp'>;
  now: () => number;
  ticks: number;
};

/**
 * Scheduled: one reading per patient per simulated second, SIMULATOR_TICKS seconds per call, and
 * any seconds a failed call left unpublished.
 */
export const makeHandler = (deps: SimulateDeps) => async (): Promise<SimulationRun> => {
  const { skipped, ...run } = await deps.simulation.catchUp(deps.now(), deps.ticks);
  if (skipped > 0) logger.warn('biometrics not simulated: too far behind to catch up', { skipped });
  logger.info('biometrics published', { ...run });
  return run;
};

const liveDeps = (): SimulateDeps => {
  const config = loadConfig();
  const random = createSeededRandom(config.SIMULATOR_SEED);
  const publisher = createReadingPublisher({
    registry: createAvroRegistry(config.SCHEMA_REGISTRY_URL),
    // One producer per container, reused by every invocation.
    sender: createProducer(
      createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-simulate` }),
    ),
  });
  const population = createPopulation(
    { patients: config.SIMULATOR_PATIENTS, wards: config.SIMULATOR_WARDS },
    random,
  );
  return {
    simulation: createSimulation({ population, publisher, random }),
    now: Date.now,
    ticks: config.SIMULATOR_TICKS,
  };
};

export const handler = middy(makeHandler(liveDeps()));
