import type { Random } from '../random';
import type { ReadingPublisher } from './publisher';
import {
  DEFAULT_SIMULATOR_OPTIONS,
  type PatientState,
  type SimulatorOptions,
  simulateTick,
} from './simulator';

/** What one run published: readings per topic and in total. */
export type SimulationRun = { ticks: number; published: number; topics: Record<string, number> };

/**
 * A running simulation: the population lives here between ticks (a warm Lambda keeps it, a cold
 * start re-creates the same patients from the seed). `run` advances `ticks` seconds ending at `now`
 * and publishes every reading, or the first `limit` of them (a producer asked for an exact count).
 */
export const createSimulation = (deps: {
  population: PatientState[];
  publisher: ReadingPublisher;
  random: Random;
  options?: SimulatorOptions;
}) => {
  let population = deps.population;
  const options = deps.options ?? DEFAULT_SIMULATOR_OPTIONS;
  return {
    async run(now: number, ticks = 1, limit = Number.POSITIVE_INFINITY): Promise<SimulationRun> {
      const topics: Record<string, number> = {};
      let published = 0;
      for (let tick = ticks - 1; tick >= 0 && published < limit; tick -= 1) {
        const result = simulateTick(population, now - tick * 1000, deps.random, options);
        const readings =
          result.readings.length > limit - published
            ? result.readings.slice(0, limit - published)
            : result.readings;
        // The population advances only once its readings are published: a failed send replays the tick.
        const sent = await deps.publisher.publish(readings);
        population = result.population;
        for (const { topic, count } of sent) topics[topic] = (topics[topic] ?? 0) + count;
        published += readings.length;
      }
      return { ticks, published, topics };
    },
  };
};
