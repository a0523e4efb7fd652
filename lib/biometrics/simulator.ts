import { drawNormal, type Random } from '../random';

/** ACVPU consciousness scale (NEWS2): Alert, new Confusion, responds to Voice, to Pain, Unresponsive. */
export const ACVPU = { alert: 'A', confusion: 'C', voice: 'V', pain: 'P', unresponsive: 'U' } as const;
/** One ACVPU level. */
export type Consciousness = (typeof ACVPU)[keyof typeof ACVPU];

/** Where a patient is in a deterioration episode. */
export const EPISODE_PHASE = {
  stable: 'stable',
  deteriorating: 'deteriorating',
  recovering: 'recovering',
} as const;
/** One phase of a deterioration episode. */
export type EpisodePhase = (typeof EPISODE_PHASE)[keyof typeof EPISODE_PHASE];

/** The continuous vital signs the simulator drives. */
export type Vitals = {
  heartRate: number;
  respiratoryRate: number;
  spo2: number;
  temperature: number;
  systolicBp: number;
  diastolicBp: number;
};

/** A patient's stable identity, ward and resting values. */
export type Patient = { id: string; ward: string; baseline: Vitals };

/** A patient between ticks: values, episode and treatment. */
export type PatientState = {
  patient: Patient;
  /** Continuous (unrounded) values; readings round them as a monitor would. */
  vitals: Vitals;
  /** 0 = the patient's baseline, 1 = a full sepsis-like picture. */
  severity: number;
  phase: EpisodePhase;
  /** The severity this episode climbs to before it turns. */
  peakSeverity: number;
  supplementalOxygen: boolean;
  consciousness: Consciousness;
  /** Epoch ms of the last tick; undefined before the first. */
  time?: number;
};

/** One observation set, as published. */
export type Reading = {
  patientId: string;
  ward: string;
  /** Epoch milliseconds (UTC). */
  time: number;
  heartRate: number;
  respiratoryRate: number;
  spo2: number;
  temperature: number;
  systolicBp: number;
  diastolicBp: number;
  consciousness: Consciousness;
  supplementalOxygen: boolean;
};

/** How often episodes start and how long they last (simulated time). */
export type SimulatorOptions = {
  /** Mean deterioration episodes per patient per hour of simulated time. */
  episodesPerHour: number;
  /** Range of the time (s) an episode takes to reach its peak. */
  onsetSeconds: readonly [number, number];
  /** Range of the time (s) a recovery takes from the peak back to baseline. */
  recoverySeconds: readonly [number, number];
  /** The interval assumed for the first tick of a patient, in seconds. */
  firstTickSeconds: number;
};

/** About one episode per patient per 20 hours; onset 20–90 min, recovery 1–4 h. */
export const DEFAULT_SIMULATOR_OPTIONS: SimulatorOptions = {
  episodesPerHour: 0.05,
  onsetSeconds: [20 * 60, 90 * 60],
  recoverySeconds: [60 * 60, 4 * 60 * 60],
  firstTickSeconds: 1,
};

/** Hard physiological bounds: no reading outside them, whatever the noise or the episode. */
export const PHYSIOLOGICAL_LIMITS = {
  heartRate: [30, 200],
  respiratoryRate: [6, 50],
  spo2: [70, 100],
  temperature: [34, 42],
  systolicBp: [60, 230],
  diastolicBp: [30, 130],
} as const satisfies Record<keyof Vitals, readonly [number, number]>;

/**
 * Per vital: reversion time constant (s) and stationary standard deviation of the Ornstein–Uhlenbeck
 * process around its target. Temperature and blood pressure move slowly, SpO2 and HR quickly.
 */
const DYNAMICS = {
  heartRate: { tau: 120, sd: 3 },
  respiratoryRate: { tau: 180, sd: 1.2 },
  spo2: { tau: 60, sd: 0.7 },
  temperature: { tau: 300, sd: 0.1 },
  systolicBp: { tau: 300, sd: 5 },
  diastolicBp: { tau: 300, sd: 3 },
} as const satisfies Record<keyof Vitals, { tau: number; sd: number }>;

/** Share of the HR/RR/SBP noise that is common (sympathetic drive moves them together). */
const COMMON_NOISE_SHARE = 0.4;
const SPO2_START_OXYGEN = 92;
const SPO2_STOP_OXYGEN = 95;
const OXYGEN_SPO2_GAIN = 4;

const clamp = (value: number, [low, high]: readonly [number, number]): number =>
  Math.min(high, Math.max(low, value));

const between = (random: Random, [low, high]: readonly [number, number]): number =>
  low + (high - low) * random();

const normalAround = (random: Random, mean: number, sd: number, range: readonly [number, number]): number =>
  clamp(mean + sd * drawNormal(random), range);

/** Draws a patient's resting values: an adult ward population, each patient different. */
export const drawBaseline = (random: Random): Vitals => {
  const systolicBp = normalAround(random, 122, 12, [95, 160]);
  return {
    heartRate: normalAround(random, 76, 8, [55, 100]),
    respiratoryRate: normalAround(random, 15, 1.8, [11, 20]),
    spo2: normalAround(random, 97, 1, [94, 99.5]),
    temperature: normalAround(random, 36.8, 0.25, [36.1, 37.4]),
    systolicBp,
    diastolicBp: normalAround(random, systolicBp * 0.63, 4, [55, 95]),
  };
};

/** A stable identity per index, so a restarted simulator publishes the same patients. */
export const patientIdOf = (index: number): string => `P${String(index + 1).padStart(6, '0')}`;

/** Creates the population: ids `P000001…`, wards assigned round-robin, baselines drawn from `random`. */
export const createPopulation = (
  options: { patients: number; wards: readonly string[] },
  random: Random,
): PatientState[] => {
  if (options.wards.length === 0) throw new RangeError('at least one ward is required');
  return Array.from({ length: options.patients }, (_, index) => {
    const baseline = drawBaseline(random);
    const ward = options.wards[index % options.wards.length] as string;
    return {
      patient: { id: patientIdOf(index), ward, baseline },
      vitals: { ...baseline },
      severity: 0,
      phase: EPISODE_PHASE.stable,
      peakSeverity: 0,
      supplementalOxygen: false,
      consciousness: ACVPU.alert,
    };
  });
};

/**
 * Where each vital is pulled to, given the episode severity and the current values of the vitals
 * that drive it: fever raises the pulse (~10/min per °C), diastolic follows systolic, oxygen
 * therapy lifts SpO2. Sepsis-like: HR, RR and temperature up; BP and SpO2 down.
 */
export const targetsOf = (state: PatientState): Vitals => {
  const { baseline } = state.patient;
  const s = state.severity;
  const temperature = baseline.temperature + 2.2 * s;
  const systolicBp = baseline.systolicBp - 40 * s;
  return {
    temperature,
    heartRate: baseline.heartRate + 10 * (state.vitals.temperature - baseline.temperature) + 22 * s,
    respiratoryRate: baseline.respiratoryRate + 14 * s,
    systolicBp,
    diastolicBp: baseline.diastolicBp + 0.55 * (state.vitals.systolicBp - baseline.systolicBp),
    spo2: Math.min(100, baseline.spo2 - 11 * s + (state.supplementalOxygen ? OXYGEN_SPO2_GAIN : 0)),
  };
};

const consciousnessAt = (severity: number): Consciousness => {
  if (severity >= 0.97) return ACVPU.pain;
  if (severity >= 0.9) return ACVPU.voice;
  if (severity >= 0.7) return ACVPU.confusion;
  return ACVPU.alert;
};

/** Advances the episode: onset by a Poisson hazard, a linear climb to a drawn peak, then recovery. */
const stepEpisode = (
  state: PatientState,
  dt: number,
  random: Random,
  options: SimulatorOptions,
): PatientState => {
  switch (state.phase) {
    case EPISODE_PHASE.stable: {
      const onset = 1 - Math.exp((-options.episodesPerHour * dt) / 3600);
      if (random() >= onset) return state;
      return { ...state, phase: EPISODE_PHASE.deteriorating, peakSeverity: 0.4 + 0.6 * random() };
    }
    case EPISODE_PHASE.deteriorating: {
      const severity = state.severity + dt / between(random, options.onsetSeconds);
      if (severity < state.peakSeverity) return { ...state, severity };
      return { ...state, severity: state.peakSeverity, phase: EPISODE_PHASE.recovering };
    }
    case EPISODE_PHASE.recovering: {
      const severity = state.severity - dt / between(random, options.recoverySeconds);
      if (severity > 0) return { ...state, severity };
      return { ...state, severity: 0, peakSeverity: 0, phase: EPISODE_PHASE.stable };
    }
  }
};

/** Exact OU step over dt toward `target`, with the standard normal `z` as its innovation. */
const stepTowards = (
  value: number,
  target: number,
  dt: number,
  dynamics: { tau: number; sd: number },
  z: number,
) => {
  const decay = Math.exp(-dt / dynamics.tau);
  return target + (value - target) * decay + dynamics.sd * Math.sqrt(1 - decay * decay) * z;
};

/** Advances one patient to `now` (epoch ms). Pure: the same state, time and random give the same result. */
export const stepPatient = (
  state: PatientState,
  now: number,
  random: Random,
  options: SimulatorOptions = DEFAULT_SIMULATOR_OPTIONS,
): PatientState => {
  const dt =
    state.time === undefined
      ? options.firstTickSeconds
      : Math.min(3600, Math.max(0, (now - state.time) / 1000));
  const episodic = stepEpisode(state, dt, random, options);
  const targets = targetsOf(episodic);
  const common = drawNormal(random);
  const coupled = () =>
    Math.sqrt(COMMON_NOISE_SHARE) * common + Math.sqrt(1 - COMMON_NOISE_SHARE) * drawNormal(random);
  const next = (name: keyof Vitals, z: number) =>
    clamp(
      stepTowards(episodic.vitals[name], targets[name], dt, DYNAMICS[name], z),
      PHYSIOLOGICAL_LIMITS[name],
    );
  const systolicBp = next('systolicBp', coupled());
  const vitals: Vitals = {
    heartRate: next('heartRate', coupled()),
    respiratoryRate: next('respiratoryRate', coupled()),
    systolicBp,
    // Keeps a physiological pulse pressure whatever the noise did.
    diastolicBp: Math.min(next('diastolicBp', drawNormal(random)), systolicBp - 15),
    spo2: next('spo2', drawNormal(random)),
    temperature: next('temperature', drawNormal(random)),
  };
  // Nurses start oxygen on a low saturation and stop it once the patient is well again.
  const supplementalOxygen = episodic.supplementalOxygen
    ? !(episodic.phase === EPISODE_PHASE.stable && vitals.spo2 >= SPO2_STOP_OXYGEN + OXYGEN_SPO2_GAIN - 1)
    : Math.round(vitals.spo2) < SPO2_START_OXYGEN;
  return {
    ...episodic,
    vitals,
    supplementalOxygen,
    consciousness: consciousnessAt(episodic.severity),
    time: now,
  };
};

/** The rounded observation a monitor would report for a state. */
export const readingOf = (state: PatientState): Reading => ({
  patientId: state.patient.id,
  ward: state.patient.ward,
  time: state.time ?? 0,
  heartRate: Math.round(state.vitals.heartRate),
  respiratoryRate: Math.round(state.vitals.respiratoryRate),
  spo2: Math.round(state.vitals.spo2),
  temperature: Math.round(state.vitals.temperature * 10) / 10,
  systolicBp: Math.round(state.vitals.systolicBp),
  diastolicBp: Math.round(state.vitals.diastolicBp),
  consciousness: state.consciousness,
  supplementalOxygen: state.supplementalOxygen,
});

/**
 * One tick of the whole population at `now`: every patient advances and yields one reading.
 * Time and randomness are arguments, so a seeded run is reproducible.
 */
export const simulateTick = (
  population: readonly PatientState[],
  now: number,
  random: Random,
  options: SimulatorOptions = DEFAULT_SIMULATOR_OPTIONS,
): { population: PatientState[]; readings: Reading[] } => {
  const next = population.map((state) => stepPatient(state, now, random, options));
  return { population: next, readings: next.map(readingOf) };
};
