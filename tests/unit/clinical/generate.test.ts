import { LABS, VITALS } from '../../../lib/clinical/catalog';
import { formatSqlTimestamp, generateClinicalDataset } from '../../../lib/clinical/generate';
import { createSeededRandom } from '../../../lib/random';

const dataset = generateClinicalDataset({ patients: 60 }, createSeededRandom(42));
const ms = (timestamp: string): number => Date.parse(`${timestamp.replace(' ', 'T')}Z`);

describe('generateClinicalDataset', () => {
  it('gives the same rows for the same seed and other rows for another seed', () => {
    expect(generateClinicalDataset({ patients: 60 }, createSeededRandom(42))).toEqual(dataset);
    expect(generateClinicalDataset({ patients: 60 }, createSeededRandom(43)).admissions).not.toEqual(
      dataset.admissions,
    );
  });

  it('fills every table, with unique keys', () => {
    for (const [table, rows] of Object.entries(dataset)) {
      expect(rows.length).toBeGreaterThan(0);
      const ids = new Set(rows.map((row: { row_id: number }) => row.row_id));
      expect({ table, unique: ids.size }).toEqual({ table, unique: rows.length });
    }
    expect(dataset.patients).toHaveLength(60);
    expect(new Set(dataset.admissions.map((row) => row.hadm_id)).size).toBe(dataset.admissions.length);
    expect(new Set(dataset.icustays.map((row) => row.icustay_id)).size).toBe(dataset.icustays.length);
  });

  it('prints timestamps as MIMIC TIMESTAMP(0) in UTC', () => {
    expect(formatSqlTimestamp(Date.UTC(2101, 9, 30, 11, 27, 33, 900))).toBe('2101-10-30 11:27:33');
    expect(dataset.admissions[0]?.admittime).toMatch(/^21\d\d-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('places admissions inside the patient life, ends a death with the last admission', () => {
    const patients = new Map(dataset.patients.map((patient) => [patient.subject_id, patient]));
    for (const admission of dataset.admissions) {
      const patient = patients.get(admission.subject_id);
      expect(patient).toBeDefined();
      if (patient === undefined) continue;
      expect(ms(admission.admittime)).toBeGreaterThan(ms(patient.dob) + 18 * 365 * 86_400_000);
      expect(ms(admission.dischtime)).toBeGreaterThan(ms(admission.admittime));
      if (patient.dod !== null) expect(ms(admission.dischtime)).toBeLessThanOrEqual(ms(patient.dod));
      if (admission.deathtime !== null) {
        expect(patient.dod).toBe(admission.deathtime);
        expect(admission.hospital_expire_flag).toBe(1);
      }
    }
    for (const patient of dataset.patients) expect(patient.expire_flag).toBe(patient.dod === null ? 0 : 1);
  });

  it('places ICU stays inside their admission and chart events inside their stay', () => {
    const admissions = new Map(dataset.admissions.map((admission) => [admission.hadm_id, admission]));
    const stays = new Map(dataset.icustays.map((stay) => [stay.icustay_id, stay]));
    for (const stay of dataset.icustays) {
      const admission = admissions.get(stay.hadm_id);
      expect(admission?.subject_id).toBe(stay.subject_id);
      if (admission === undefined || stay.outtime === null) continue;
      expect(ms(stay.intime)).toBeGreaterThanOrEqual(ms(admission.admittime));
      expect(ms(stay.outtime)).toBeLessThanOrEqual(ms(admission.dischtime));
      expect(stay.los).toBeCloseTo((ms(stay.outtime) - ms(stay.intime)) / 86_400_000, 3);
      expect(admission.has_chartevents_data).toBe(1);
    }
    for (const event of dataset.chartevents) {
      const stay = stays.get(event.icustay_id ?? -1);
      expect(stay?.hadm_id).toBe(event.hadm_id);
      expect(stay?.subject_id).toBe(event.subject_id);
      if (stay?.outtime == null) continue;
      expect(ms(event.charttime)).toBeGreaterThanOrEqual(ms(stay.intime));
      expect(ms(event.charttime)).toBeLessThan(ms(stay.outtime));
    }
  });

  it('charts plausible vitals under MIMIC item ids known to d_items, per source system', () => {
    const items = new Map(dataset.d_items.map((item) => [item.itemid, item]));
    const stays = new Map(dataset.icustays.map((stay) => [stay.icustay_id, stay]));
    for (const event of dataset.chartevents) {
      const item = items.get(event.itemid);
      expect(item?.dbsource).toBe(stays.get(event.icustay_id ?? -1)?.dbsource);
      const vital = VITALS.find((spec) => spec.carevue === event.itemid || spec.metavision === event.itemid);
      expect(vital).toBeDefined();
      expect(event.valueuom).toBe(vital?.unit);
      if (event.valuenum === null || vital === undefined) continue;
      expect(event.valuenum).toBeGreaterThanOrEqual(vital.min);
      expect(event.valuenum).toBeLessThanOrEqual(vital.max);
    }
    expect([...items.keys()]).toEqual(
      expect.arrayContaining([211, 220045, 220179, 220180, 220210, 220277, 223761, 223762]),
    );
  });

  it('dates labs inside their admission, with d_labitems units and LOINC codes', () => {
    const admissions = new Map(dataset.admissions.map((admission) => [admission.hadm_id, admission]));
    const labItems = new Map(dataset.d_labitems.map((item) => [item.itemid, item]));
    for (const event of dataset.labevents) {
      const admission = admissions.get(event.hadm_id ?? -1);
      expect(admission?.subject_id).toBe(event.subject_id);
      if (admission === undefined) continue;
      expect(ms(event.charttime)).toBeGreaterThanOrEqual(ms(admission.admittime));
      expect(ms(event.charttime)).toBeLessThan(ms(admission.dischtime) + 3_600_000);
      expect(labItems.has(event.itemid)).toBe(true);
      expect(event.valueuom).toBe(LABS.find((lab) => lab.itemid === event.itemid)?.unit);
    }
    expect(labItems.get(50912)?.loinc_code).toBe('2160-0');
  });

  it('numbers each admission diagnoses from 1 without repeating a code', () => {
    const byAdmission = new Map<number, { seq: number[]; codes: Set<string> }>();
    for (const row of dataset.diagnoses_icd) {
      const entry = byAdmission.get(row.hadm_id) ?? { seq: [], codes: new Set() };
      entry.seq.push(row.seq_num);
      entry.codes.add(row.icd9_code);
      byAdmission.set(row.hadm_id, entry);
    }
    expect(byAdmission.size).toBe(dataset.admissions.length);
    for (const entry of byAdmission.values()) {
      expect(entry.seq).toEqual(entry.seq.map((_, index) => index + 1));
      expect(entry.codes.size).toBe(entry.seq.length);
    }
  });
});
