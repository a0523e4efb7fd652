import { pickOne, type Random, randomInt, randomNormal } from '../random';
import { buildDItems, buildDLabItems, DIAGNOSES, LABS, VITALS } from './catalog';
import type {
  AdmissionRow,
  ChartEventRow,
  ClinicalDataset,
  DiagnosisIcdRow,
  IcuStayRow,
  LabEventRow,
  PatientRow,
  SqlTimestamp,
} from './schema';

/** What to generate; everything but the patient count has a MIMIC-like default. */
export type GenerateOptions = {
  /** How many patients; every other table follows from them. */
  patients: number;
  /** Hours between two charting times in an ICU stay (MIMIC charts most vitals hourly; 4 by default keeps big seeds small). */
  chartIntervalHours?: number;
  /** First subject_id; MIMIC's start around 2 and grow, which keeps keys dense for paging. */
  firstSubjectId?: number;
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const YEAR = 365.25 * DAY;
// MIMIC shifts dates into 2100-2200 to de-identify them; we generate in the same window.
const EPOCH_2100 = Date.UTC(2100, 0, 1);
const EPOCH_2190 = Date.UTC(2190, 0, 1);

/** Formats an epoch in ms as MIMIC prints TIMESTAMP(0) (UTC, whole seconds). */
export const formatSqlTimestamp = (ms: number): SqlTimestamp =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');

const round = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

const ADMISSION_TYPES = ['EMERGENCY', 'EMERGENCY', 'EMERGENCY', 'ELECTIVE', 'URGENT'] as const;
const ADMISSION_LOCATIONS = [
  'EMERGENCY ROOM ADMIT',
  'PHYS REFERRAL/NORMAL DELI',
  'CLINIC REFERRAL/PREMATURE',
  'TRANSFER FROM HOSP/EXTRAM',
] as const;
const DISCHARGE_LOCATIONS = ['HOME', 'HOME HEALTH CARE', 'SNF', 'REHAB/DISTINCT PART HOSP'] as const;
const INSURANCES = ['Medicare', 'Private', 'Medicaid', 'Government', 'Self Pay'] as const;
const LANGUAGES = ['ENGL', 'ENGL', 'ENGL', 'SPAN', 'RUSS', null] as const;
const RELIGIONS = ['CATHOLIC', 'PROTESTANT QUAKER', 'JEWISH', 'NOT SPECIFIED', 'UNOBTAINABLE'] as const;
const MARITAL = ['MARRIED', 'SINGLE', 'WIDOWED', 'DIVORCED', null] as const;
const ETHNICITIES = [
  'WHITE',
  'BLACK/AFRICAN AMERICAN',
  'HISPANIC OR LATINO',
  'ASIAN',
  'UNKNOWN/NOT SPECIFIED',
] as const;
const CAREUNITS = ['MICU', 'SICU', 'CCU', 'CSRU', 'TSICU'] as const;

/**
 * Generates a MIMIC-III-shaped database that is coherent across tables: admissions fall inside the
 * patient's life, ICU stays inside their admission, chart and lab events inside their stay or
 * admission, and a death ends the last admission. Pure: the same `random` sequence gives the same
 * rows.
 */
export const generateClinicalDataset = (options: GenerateOptions, random: Random): ClinicalDataset => {
  const interval = (options.chartIntervalHours ?? 4) * HOUR;
  const dataset: ClinicalDataset = {
    patients: [],
    admissions: [],
    icustays: [],
    d_items: buildDItems(),
    d_labitems: buildDLabItems(),
    chartevents: [],
    labevents: [],
    diagnoses_icd: [],
  };
  let hadmId = 100_000;
  let icustayId = 200_000;

  for (let index = 0; index < options.patients; index += 1) {
    const subjectId = (options.firstSubjectId ?? 2) + index;
    const ageAtFirst = randomInt(random, 18, 89);
    const firstAdmit = EPOCH_2100 + random() * (EPOCH_2190 - EPOCH_2100);
    const dob = Math.floor((firstAdmit - ageAtFirst * YEAR - random() * YEAR) / DAY) * DAY;
    const admissionCount = randomInt(random, 1, 3);
    const dies = random() < 0.12;

    let admitAt = firstAdmit;
    let lastDischarge = admitAt;
    let deathAt: number | null = null;
    for (let a = 0; a < admissionCount; a += 1) {
      hadmId += 1;
      const losDays = 1 + random() * 9;
      const dischargeAt = admitAt + losDays * DAY;
      const isLast = a === admissionCount - 1;
      const diesHere = dies && isLast;
      const edReg = random() < 0.5 ? admitAt - randomInt(random, 1, 6) * HOUR : null;
      if (diesHere) deathAt = dischargeAt;
      const admission: AdmissionRow = {
        row_id: dataset.admissions.length + 1,
        subject_id: subjectId,
        hadm_id: hadmId,
        admittime: formatSqlTimestamp(admitAt),
        dischtime: formatSqlTimestamp(dischargeAt),
        deathtime: diesHere ? formatSqlTimestamp(dischargeAt) : null,
        admission_type: pickOne(random, ADMISSION_TYPES),
        admission_location: pickOne(random, ADMISSION_LOCATIONS),
        discharge_location: diesHere ? 'DEAD/EXPIRED' : pickOne(random, DISCHARGE_LOCATIONS),
        insurance: pickOne(random, INSURANCES),
        language: pickOne(random, LANGUAGES),
        religion: pickOne(random, RELIGIONS),
        marital_status: pickOne(random, MARITAL),
        ethnicity: pickOne(random, ETHNICITIES),
        edregtime: edReg === null ? null : formatSqlTimestamp(edReg),
        edouttime: edReg === null ? null : formatSqlTimestamp(admitAt),
        diagnosis: null,
        hospital_expire_flag: diesHere ? 1 : 0,
        has_chartevents_data: 0,
      };
      dataset.admissions.push(admission);

      const codes = new Set<string>();
      const diagnosisCount = randomInt(random, 2, 6);
      while (codes.size < diagnosisCount) codes.add(pickOne(random, DIAGNOSES).code);
      let seq = 0;
      for (const code of codes) {
        seq += 1;
        const row: DiagnosisIcdRow = {
          row_id: dataset.diagnoses_icd.length + 1,
          subject_id: subjectId,
          hadm_id: hadmId,
          seq_num: seq,
          icd9_code: code,
        };
        dataset.diagnoses_icd.push(row);
      }
      const first = DIAGNOSES.find((diagnosis) => diagnosis.code === [...codes][0]);
      admission.diagnosis = first?.text ?? null;

      // Labs: one panel a day from the morning after admission until discharge.
      for (let day = admitAt + 6 * HOUR; day < dischargeAt; day += DAY) {
        for (const lab of LABS) {
          if (random() < 0.15) continue;
          const row = buildLabEvent(lab, subjectId, hadmId, day + random() * HOUR, random);
          row.row_id = dataset.labevents.length + 1;
          dataset.labevents.push(row);
        }
      }

      // ICU: most admissions have one stay, some two; stays are inside the admission.
      const stayCount = random() < 0.3 ? 0 : random() < 0.85 ? 1 : 2;
      const window = (dischargeAt - admitAt) / Math.max(stayCount, 1);
      for (let s = 0; s < stayCount; s += 1) {
        icustayId += 1;
        const inAt = admitAt + s * window + random() * 0.2 * window;
        const outAt = Math.min(inAt + (0.3 + random() * 0.6) * window, admitAt + (s + 1) * window - HOUR);
        const unit = pickOne(random, CAREUNITS);
        const dbsource = random() < 0.5 ? 'carevue' : 'metavision';
        const ward = randomInt(random, 1, 60);
        const stay: IcuStayRow = {
          row_id: dataset.icustays.length + 1,
          subject_id: subjectId,
          hadm_id: hadmId,
          icustay_id: icustayId,
          dbsource,
          first_careunit: unit,
          last_careunit: unit,
          first_wardid: ward,
          last_wardid: ward,
          intime: formatSqlTimestamp(inAt),
          outtime: formatSqlTimestamp(outAt),
          los: round((outAt - inAt) / DAY, 4),
        };
        dataset.icustays.push(stay);
        admission.has_chartevents_data = 1;
        chartStay(dataset.chartevents, stay, inAt, outAt, interval, random);
      }
      lastDischarge = dischargeAt;
      admitAt = dischargeAt + (30 + random() * 700) * DAY;
    }
    const patient: PatientRow = {
      row_id: index + 1,
      subject_id: subjectId,
      gender: random() < 0.56 ? 'M' : 'F',
      dob: formatSqlTimestamp(dob),
      dod: deathAt === null ? null : formatSqlTimestamp(deathAt),
      dod_hosp: deathAt === null ? null : formatSqlTimestamp(deathAt),
      dod_ssn: null,
      expire_flag: deathAt === null ? 0 : 1,
    };
    if (deathAt === null && random() < 0.05) {
      // Died after the last discharge, known from the social security records only.
      const dod = lastDischarge + (10 + random() * 300) * DAY;
      patient.dod = formatSqlTimestamp(dod);
      patient.dod_ssn = patient.dod;
      patient.expire_flag = 1;
    }
    dataset.patients.push(patient);
  }
  return dataset;
};

const buildLabEvent = (
  lab: (typeof LABS)[number],
  subjectId: number,
  hadmId: number,
  at: number,
  random: Random,
): LabEventRow => {
  if (lab.unit === null) {
    const value = pickOne(random, ['NONE', 'FEW', 'MOD'] as const);
    return {
      row_id: 0,
      subject_id: subjectId,
      hadm_id: hadmId,
      itemid: lab.itemid,
      charttime: formatSqlTimestamp(at),
      value,
      valuenum: null,
      valueuom: null,
      flag: value === 'NONE' ? null : 'abnormal',
    };
  }
  const span = lab.high - lab.low;
  const valuenum = Math.max(
    0,
    round(randomNormal(random, (lab.low + lab.high) / 2, span * 0.45), lab.decimals),
  );
  return {
    row_id: 0,
    subject_id: subjectId,
    hadm_id: hadmId,
    itemid: lab.itemid,
    charttime: formatSqlTimestamp(at),
    value: String(valuenum),
    valuenum,
    valueuom: lab.unit,
    flag: valuenum < lab.low || valuenum > lab.high ? 'abnormal' : null,
  };
};

const chartStay = (
  rows: ChartEventRow[],
  stay: IcuStayRow,
  inAt: number,
  outAt: number,
  interval: number,
  random: Random,
): void => {
  const cgid = randomInt(random, 14000, 21000);
  let tick = 0;
  for (let at = inAt + 15 * 60_000; at < outAt; at += interval, tick += 1) {
    for (const vital of VITALS) {
      const itemid = stay.dbsource === 'carevue' ? vital.carevue : vital.metavision;
      if (itemid === null || tick % vital.every !== 0) continue;
      const valuenum = round(
        clamp(randomNormal(random, vital.mean, vital.sd), vital.min, vital.max),
        vital.decimals,
      );
      // A few values are charted in error, as in MIMIC (error = 1), and a few have no number.
      const inError = stay.dbsource === 'metavision' && random() < 0.002;
      const missing = random() < 0.003;
      rows.push({
        row_id: rows.length + 1,
        subject_id: stay.subject_id,
        hadm_id: stay.hadm_id,
        icustay_id: stay.icustay_id,
        itemid,
        charttime: formatSqlTimestamp(at),
        storetime: formatSqlTimestamp(at + randomInt(random, 1, 40) * 60_000),
        cgid,
        value: missing ? null : String(valuenum),
        valuenum: missing ? null : valuenum,
        valueuom: vital.unit,
        warning: stay.dbsource === 'metavision' ? 0 : null,
        error: stay.dbsource === 'metavision' ? (inError ? 1 : 0) : null,
        resultstatus: stay.dbsource === 'carevue' ? 'Manual' : null,
        stopped: stay.dbsource === 'carevue' ? 'NotStopd' : null,
      });
    }
  }
};
