import {
  ACVPU,
  createPopulation,
  DEFAULT_SIMULATOR_OPTIONS,
  EPISODE_PHASE,
  type PatientState,
  PHYSIOLOGICAL_LIMITS,
  type Reading,
  simulateTick,
} from '../../../lib/biometrics/simulator';
import { createSeededRandom } from '../../../lib/random';

const START = Date.UTC(2026, 10, 22, 8, 0, 0);

type Trace = { readings: Reading[][]; states: PatientState[][] };

/** Runs a seeded population for `seconds` one-second ticks. */
const run = (
  seed: number,
  patients: number,
  seconds: number,
  options = DEFAULT_SIMULATOR_OPTIONS,
  wards = ['a', 'b'],
): Trace => {
  const random = createSeededRandom(seed);
  let population = createPopulation({ patients, wards }, random);
  const trace: Trace = { readings: [], states: [] };
  for (let tick = 0; tick < seconds; tick += 1) {
    const result = simulateTick(population, START + tick * 1000, random, options);
    population = result.population;
    trace.readings.push(result.readings);
    trace.states.push(population);
  }
  return trace;
};

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const correlation = (xs: number[], ys: number[]) => {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, index) => {
    const y = ys[index] as number;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
};
const seriesOf = (trace: Trace, patient: number, pick: (reading: Reading) => number) =>
  trace.readings.map((tick) => pick(tick[patient] as Reading));

describe('simulator', () => {
  it('reproduces the same readings from the same seed', () => {
    expect(run(7, 5, 50).readings).toEqual(run(7, 5, 50).readings);
    expect(run(7, 5, 50).readings).not.toEqual(run(8, 5, 50).readings);
  });

  it('gives patients stable ids, their ward round-robin, and one reading per patient per tick at now', () => {
    const trace = run(1, 5, 3, DEFAULT_SIMULATOR_OPTIONS, ['icu', 'cardio']);
    expect(trace.readings.map((tick) => tick.length)).toEqual([5, 5, 5]);
    expect(trace.readings[2]?.map((reading) => [reading.patientId, reading.ward])).toEqual([
      ['P000001', 'icu'],
      ['P000002', 'cardio'],
      ['P000003', 'icu'],
      ['P000004', 'cardio'],
      ['P000005', 'icu'],
    ]);
    expect(trace.readings[2]?.every((reading) => reading.time === START + 2000)).toBe(true);
  });

  it('drifts smoothly (consecutive readings correlate) instead of drawing new values every second', () => {
    const trace = run(3, 1, 3000, { ...DEFAULT_SIMULATOR_OPTIONS, episodesPerHour: 0 });
    const hr = seriesOf(trace, 0, (reading) => reading.heartRate);
    expect(correlation(hr.slice(0, -1), hr.slice(1))).toBeGreaterThan(0.9);
    const temperature = seriesOf(trace, 0, (reading) => reading.temperature);
    expect(correlation(temperature.slice(0, -1), temperature.slice(1))).toBeGreaterThan(0.9);
  });

  it('reverts to each patient baseline: long-run means stay near it without episodes', () => {
    const trace = run(11, 20, 3600, { ...DEFAULT_SIMULATOR_OPTIONS, episodesPerHour: 0 });
    trace.states[0]?.forEach((state, patient) => {
      const baseline = state.patient.baseline;
      expect(
        Math.abs(mean(seriesOf(trace, patient, (reading) => reading.heartRate)) - baseline.heartRate),
      ).toBeLessThan(3);
      expect(
        Math.abs(mean(seriesOf(trace, patient, (reading) => reading.systolicBp)) - baseline.systolicBp),
      ).toBeLessThan(5);
      expect(
        Math.abs(mean(seriesOf(trace, patient, (reading) => reading.temperature)) - baseline.temperature),
      ).toBeLessThan(0.25);
    });
  });

  it('gives patients different baselines', () => {
    const population = createPopulation({ patients: 200, wards: ['a'] }, createSeededRandom(5));
    const rates = population.map((state) => state.patient.baseline.heartRate);
    expect(Math.max(...rates) - Math.min(...rates)).toBeGreaterThan(20);
  });

  it('moves heart rate, respiratory rate and systolic pressure together (shared sympathetic noise)', () => {
    const trace = run(13, 1, 4000, { ...DEFAULT_SIMULATOR_OPTIONS, episodesPerHour: 0 });
    const hr = seriesOf(trace, 0, (reading) => reading.heartRate);
    const sbp = seriesOf(trace, 0, (reading) => reading.systolicBp);
    const diff = (values: number[]) =>
      values.slice(1).map((value, index) => value - (values[index] as number));
    expect(correlation(diff(hr), diff(sbp))).toBeGreaterThan(0.05);
  });

  describe('deterioration episodes', () => {
    const options = {
      ...DEFAULT_SIMULATOR_OPTIONS,
      episodesPerHour: 3,
      onsetSeconds: [600, 900] as const,
      recoverySeconds: [900, 1200] as const,
    };
    const trace = run(21, 10, 3 * 3600, options);

    it('occur at about the configured rate', () => {
      let onsets = 0;
      trace.states.forEach((tick, index) => {
        tick.forEach((state, patient) => {
          const before = trace.states[index - 1]?.[patient];
          if (before?.phase === EPISODE_PHASE.stable && state.phase === EPISODE_PHASE.deteriorating)
            onsets += 1;
        });
      });
      // 10 patients x 3 h x 3/h = 90 expected if always stable; episodes take ~0.5 h so fewer start.
      expect(onsets).toBeGreaterThan(15);
      expect(onsets).toBeLessThan(90);
    });

    it('look like sepsis at their peak: HR, RR, temperature up; BP and SpO2 down; then recover', () => {
      const severe: Reading[] = [];
      const calm: Reading[] = [];
      trace.states.forEach((tick, index) => {
        tick.forEach((state, patient) => {
          const reading = trace.readings[index]?.[patient] as Reading;
          if (state.severity > 0.7) severe.push(reading);
          if (state.severity === 0 && state.phase === EPISODE_PHASE.stable) calm.push(reading);
        });
      });
      expect(severe.length).toBeGreaterThan(100);
      const avg = (readings: Reading[], pick: (reading: Reading) => number) => mean(readings.map(pick));
      expect(avg(severe, (r) => r.heartRate)).toBeGreaterThan(avg(calm, (r) => r.heartRate) + 20);
      expect(avg(severe, (r) => r.respiratoryRate)).toBeGreaterThan(avg(calm, (r) => r.respiratoryRate) + 6);
      expect(avg(severe, (r) => r.temperature)).toBeGreaterThan(avg(calm, (r) => r.temperature) + 0.7);
      expect(avg(severe, (r) => r.systolicBp)).toBeLessThan(avg(calm, (r) => r.systolicBp) - 15);
      expect(avg(severe, (r) => r.spo2)).toBeLessThan(avg(calm, (r) => r.spo2));
      expect(severe.some((reading) => reading.consciousness !== ACVPU.alert)).toBe(true);
      expect(calm.every((reading) => reading.consciousness === ACVPU.alert)).toBe(true);
      const recovered = trace.states
        .at(-1)
        ?.some(
          (state, patient) =>
            trace.states.some((tick) => (tick[patient]?.severity ?? 0) > 0.5) &&
            state.phase === EPISODE_PHASE.stable,
        );
      expect(recovered).toBe(true);
    });

    it('starts supplemental oxygen when SpO2 falls below 92 and stops it after recovery', () => {
      const firstOn = trace.readings.findIndex((tick) => tick.some((reading) => reading.supplementalOxygen));
      expect(firstOn).toBeGreaterThan(0);
      const patient = trace.readings[firstOn]?.findIndex((reading) => reading.supplementalOxygen) as number;
      expect(trace.readings[firstOn - 1]?.[patient]?.supplementalOxygen).toBe(false);
      expect(trace.readings[firstOn]?.[patient]?.spo2).toBeLessThan(92);
      const series = trace.readings.map((tick) => tick[patient] as Reading);
      const lastOn = series.map((reading) => reading.supplementalOxygen).lastIndexOf(true);
      const onWhileStable = trace.states.filter(
        (tick) => tick[patient]?.phase === EPISODE_PHASE.stable && tick[patient]?.supplementalOxygen,
      );
      expect(lastOn).toBeLessThan(series.length - 1);
      expect(onWhileStable.length).toBeLessThan(series.length / 2);
    });

    it('keeps every reading within physiological limits and diastolic below systolic', () => {
      const outside = trace.readings.flat().filter(
        (reading) =>
          Object.entries(PHYSIOLOGICAL_LIMITS).some(([name, [low, high]]) => {
            const value = reading[name as keyof typeof PHYSIOLOGICAL_LIMITS];
            return value < low || value > high;
          }) ||
          reading.diastolicBp >= reading.systolicBp ||
          !(Object.values(ACVPU) as string[]).includes(reading.consciousness),
      );
      expect(outside).toEqual([]);
    });
  });
});
