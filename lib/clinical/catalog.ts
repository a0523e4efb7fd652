import type { DItemRow, DLabItemRow } from './schema';

/** A vital sign as charted in MIMIC: its item id per source system, unit as charted, and range. */
export type VitalSpec = {
  readonly key: 'hr' | 'sbp' | 'dbp' | 'rr' | 'spo2' | 'tempF' | 'tempC';
  readonly carevue: number | null;
  readonly metavision: number | null;
  readonly label: string;
  readonly unit: string;
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly decimals: number;
  /** Charted at every n-th charting time (temperature is charted less often than the monitor). */
  readonly every: number;
};

/**
 * MIMIC-III item ids for the vitals we chart. CareVue (2001-2008) and MetaVision (2008-2012) used
 * different ids for the same measurement; both appear in `chartevents`.
 */
export const VITALS: readonly VitalSpec[] = [
  {
    key: 'hr',
    carevue: 211,
    metavision: 220045,
    label: 'Heart Rate',
    unit: 'bpm',
    mean: 86,
    sd: 14,
    min: 35,
    max: 180,
    decimals: 0,
    every: 1,
  },
  {
    key: 'sbp',
    carevue: 455,
    metavision: 220179,
    label: 'Non Invasive Blood Pressure systolic',
    unit: 'mmHg',
    mean: 121,
    sd: 17,
    min: 60,
    max: 220,
    decimals: 0,
    every: 1,
  },
  {
    key: 'dbp',
    carevue: 8441,
    metavision: 220180,
    label: 'Non Invasive Blood Pressure diastolic',
    unit: 'mmHg',
    mean: 62,
    sd: 11,
    min: 30,
    max: 120,
    decimals: 0,
    every: 1,
  },
  {
    key: 'rr',
    carevue: 618,
    metavision: 220210,
    label: 'Respiratory Rate',
    unit: 'insp/min',
    mean: 19,
    sd: 4,
    min: 6,
    max: 45,
    decimals: 0,
    every: 1,
  },
  {
    key: 'spo2',
    carevue: 646,
    metavision: 220277,
    label: 'O2 saturation pulseoxymetry',
    unit: '%',
    mean: 97,
    sd: 2,
    min: 80,
    max: 100,
    decimals: 0,
    every: 1,
  },
  {
    key: 'tempF',
    carevue: 678,
    metavision: 223761,
    label: 'Temperature Fahrenheit',
    unit: 'Deg. F',
    mean: 98.6,
    sd: 1,
    min: 94,
    max: 104,
    decimals: 1,
    every: 2,
  },
  {
    key: 'tempC',
    carevue: null,
    metavision: 223762,
    label: 'Temperature Celsius',
    unit: 'Deg. C',
    mean: 37,
    sd: 0.5,
    min: 34.5,
    max: 40,
    decimals: 1,
    every: 4,
  },
];

/** A lab test from MIMIC's `d_labitems` with its LOINC code, unit and normal range. */
export type LabSpec = {
  readonly itemid: number;
  readonly label: string;
  readonly fluid: string;
  readonly category: string;
  readonly loinc: string | null;
  readonly unit: string | null;
  readonly low: number;
  readonly high: number;
  readonly decimals: number;
};

/** The lab tests generated for every admission, daily. */
export const LABS: readonly LabSpec[] = [
  {
    itemid: 50912,
    label: 'Creatinine',
    fluid: 'Blood',
    category: 'Chemistry',
    loinc: '2160-0',
    unit: 'mg/dL',
    low: 0.5,
    high: 1.2,
    decimals: 1,
  },
  {
    itemid: 50971,
    label: 'Potassium',
    fluid: 'Blood',
    category: 'Chemistry',
    loinc: '2823-3',
    unit: 'mEq/L',
    low: 3.3,
    high: 5.1,
    decimals: 1,
  },
  {
    itemid: 50983,
    label: 'Sodium',
    fluid: 'Blood',
    category: 'Chemistry',
    loinc: '2951-2',
    unit: 'mEq/L',
    low: 133,
    high: 145,
    decimals: 0,
  },
  {
    itemid: 50931,
    label: 'Glucose',
    fluid: 'Blood',
    category: 'Chemistry',
    loinc: '2345-7',
    unit: 'mg/dL',
    low: 70,
    high: 105,
    decimals: 0,
  },
  {
    itemid: 51222,
    label: 'Hemoglobin',
    fluid: 'Blood',
    category: 'Hematology',
    loinc: '718-7',
    unit: 'g/dL',
    low: 12,
    high: 16,
    decimals: 1,
  },
  {
    itemid: 51301,
    label: 'White Blood Cells',
    fluid: 'Blood',
    category: 'Hematology',
    loinc: '804-5',
    unit: 'K/uL',
    low: 4,
    high: 11,
    decimals: 1,
  },
  {
    itemid: 51265,
    label: 'Platelet Count',
    fluid: 'Blood',
    category: 'Hematology',
    loinc: '777-3',
    unit: 'K/uL',
    low: 150,
    high: 440,
    decimals: 0,
  },
  {
    itemid: 50820,
    label: 'pH',
    fluid: 'Blood',
    category: 'Blood Gas',
    loinc: '11558-4',
    unit: 'units',
    low: 7.35,
    high: 7.45,
    decimals: 2,
  },
  // MIMIC has tests without a LOINC code in d_labitems; the mapping must cope.
  {
    itemid: 51463,
    label: 'Bacteria',
    fluid: 'Urine',
    category: 'Hematology',
    loinc: null,
    unit: null,
    low: 0,
    high: 0,
    decimals: 0,
  },
];

/** Frequent ICD-9-CM diagnosis codes as MIMIC stores them (no dot). */
export const DIAGNOSES: readonly { code: string; text: string }[] = [
  { code: '4019', text: 'HYPERTENSION' },
  { code: '4280', text: 'CONGESTIVE HEART FAILURE' },
  { code: '42731', text: 'ATRIAL FIBRILLATION' },
  { code: '5849', text: 'ACUTE KIDNEY FAILURE' },
  { code: '25000', text: 'DIABETES MELLITUS' },
  { code: '51881', text: 'ACUTE RESPIRATORY FAILURE' },
  { code: '5990', text: 'URINARY TRACT INFECTION' },
  { code: '0389', text: 'SEPTICEMIA' },
  { code: '2724', text: 'HYPERLIPIDEMIA' },
  { code: '486', text: 'PNEUMONIA' },
  { code: '2851', text: 'ACUTE POSTHEMORRHAGIC ANEMIA' },
  { code: 'V4581', text: 'AORTOCORONARY BYPASS STATUS' },
  { code: 'E8497', text: 'ACCIDENT IN RESIDENTIAL INSTITUTION' },
  { code: '41401', text: 'CORONARY ATHEROSCLEROSIS' },
];

/** `d_items` rows for the charted vitals, both systems. */
export const buildDItems = (): DItemRow[] => {
  const rows: DItemRow[] = [];
  for (const vital of VITALS) {
    if (vital.carevue !== null) {
      rows.push({
        row_id: rows.length + 1,
        itemid: vital.carevue,
        label: vital.label,
        abbreviation: null,
        dbsource: 'carevue',
        linksto: 'chartevents',
        category: null,
        unitname: null,
        param_type: 'Numeric',
        conceptid: null,
      });
    }
    if (vital.metavision !== null) {
      rows.push({
        row_id: rows.length + 1,
        itemid: vital.metavision,
        label: vital.label,
        abbreviation: vital.key.toUpperCase(),
        dbsource: 'metavision',
        linksto: 'chartevents',
        category: 'Routine Vital Signs',
        unitname: vital.unit,
        param_type: 'Numeric',
        conceptid: null,
      });
    }
  }
  return rows;
};

/** `d_labitems` rows for the generated labs. */
export const buildDLabItems = (): DLabItemRow[] =>
  LABS.map((lab, index) => ({
    row_id: index + 1,
    itemid: lab.itemid,
    label: lab.label,
    fluid: lab.fluid,
    category: lab.category,
    loinc_code: lab.loinc,
  }));
