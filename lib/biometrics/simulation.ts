import type { Random } from '../random';
import type { ReadingPublisher } from './publisher';
import {
  DEFAULT_SIMULATOR_OPTIONS,
  type PatientState,
  type SimulatorOptions,
  simulateTick,
} from './simulator';

/** After an outage, at most this many runs' worth of missed seconds are published at once. */
const CATCH_UP_RUNS = 10;

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
  // The simulated second of the last tick published (or the start of the first run).
  let simulatedUntil: number | undefined;
  const options = deps.options ?? DEFAULT_SIMULATOR_OPTIONS;
  const run = async (now: number, ticks = 1, limit = Number.POSITIVE_INFINITY): Promise<SimulationRun> => {
    const topics: Record<string, number> = {};
    let published = 0;
    for (let tick = ticks - 1; tick >= 0 && published < limit; tick -= 1) {
      const at = now - tick * 1000;
      const result = simulateTick(population, at, deps.random, options);
      const readings =
        result.readings.length > limit - published
          ? result.readings.slice(0, limit - published)
          : result.readings;
      // The population advances only once its readings are published: a failed send replays the tick.
      const sent = await deps.publisher.publish(readings);
      population = result.population;
      simulatedUntil = at;
      for (const { topic, count } of sent) topics[topic] = (topics[topic] ?? 0) + count;
      published += readings.length;
    }
    return { ticks, published, topics };
  };
  return {
    run,
    /**
     * The scheduled run: every simulated second since the last one published, up to `now` (`ticks`
     * of them the first time). A run that failed part-way is caught up by the next, so a broker
     * outage leaves no gap in the readings; at most `maxTicks` are published at once, the older
     * seconds skipped (and counted).
     */
    async catchUp(
      now: number,
      ticks: number,
      maxTicks = ticks * CATCH_UP_RUNS,
    ): Promise<SimulationRun & { skipped: number }> {
      simulatedUntil ??= now - ticks * 1000;
      const due = Math.max(0, Math.floor((now - simulatedUntil) / 1000));
      const count = Math.min(due, maxTicks);
      // Whole seconds after the last tick: readings stay one second apart across runs.
      const end = simulatedUntil + due * 1000;
      return { ...(await run(end, count)), skipped: due - count };
    },
  };
};

/** A running simulation (see createSimulation). */
export type Simulation = ReturnType<typeof createSimulation>;
