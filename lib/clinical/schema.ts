/**
 * The MIMIC-III subset medstream's clinical source uses, with MIMIC's own table names, column names
 * and types (mimic-code `postgres_create_tables.sql`), declared once: the DDL, the loader and the
 * row types all come from here.
 */
export const CLINICAL_TABLES = {
  patients: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['subject_id', 'INT NOT NULL'],
      ['gender', 'VARCHAR(5) NOT NULL'],
      ['dob', 'TIMESTAMP(0) NOT NULL'],
      ['dod', 'TIMESTAMP(0)'],
      ['dod_hosp', 'TIMESTAMP(0)'],
      ['dod_ssn', 'TIMESTAMP(0)'],
      ['expire_flag', 'INT NOT NULL'],
    ],
    unique: ['subject_id'],
  },
  admissions: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['subject_id', 'INT NOT NULL'],
      ['hadm_id', 'INT NOT NULL'],
      ['admittime', 'TIMESTAMP(0) NOT NULL'],
      ['dischtime', 'TIMESTAMP(0) NOT NULL'],
      ['deathtime', 'TIMESTAMP(0)'],
      ['admission_type', 'VARCHAR(50) NOT NULL'],
      ['admission_location', 'VARCHAR(50) NOT NULL'],
      ['discharge_location', 'VARCHAR(50) NOT NULL'],
      ['insurance', 'VARCHAR(255) NOT NULL'],
      ['language', 'VARCHAR(10)'],
      ['religion', 'VARCHAR(50)'],
      ['marital_status', 'VARCHAR(50)'],
      ['ethnicity', 'VARCHAR(200) NOT NULL'],
      ['edregtime', 'TIMESTAMP(0)'],
      ['edouttime', 'TIMESTAMP(0)'],
      ['diagnosis', 'VARCHAR(255)'],
      ['hospital_expire_flag', 'SMALLINT'],
      ['has_chartevents_data', 'SMALLINT NOT NULL'],
    ],
    unique: ['hadm_id'],
  },
  icustays: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['subject_id', 'INT NOT NULL'],
      ['hadm_id', 'INT NOT NULL'],
      ['icustay_id', 'INT NOT NULL'],
      ['dbsource', 'VARCHAR(20) NOT NULL'],
      ['first_careunit', 'VARCHAR(20) NOT NULL'],
      ['last_careunit', 'VARCHAR(20) NOT NULL'],
      ['first_wardid', 'SMALLINT NOT NULL'],
      ['last_wardid', 'SMALLINT NOT NULL'],
      ['intime', 'TIMESTAMP(0) NOT NULL'],
      ['outtime', 'TIMESTAMP(0)'],
      ['los', 'DOUBLE PRECISION'],
    ],
    unique: ['icustay_id'],
  },
  d_items: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['itemid', 'INT NOT NULL'],
      ['label', 'VARCHAR(200)'],
      ['abbreviation', 'VARCHAR(100)'],
      ['dbsource', 'VARCHAR(20)'],
      ['linksto', 'VARCHAR(50)'],
      ['category', 'VARCHAR(100)'],
      ['unitname', 'VARCHAR(100)'],
      ['param_type', 'VARCHAR(30)'],
      ['conceptid', 'INT'],
    ],
    unique: ['itemid'],
  },
  d_labitems: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['itemid', 'INT NOT NULL'],
      ['label', 'VARCHAR(100) NOT NULL'],
      ['fluid', 'VARCHAR(100) NOT NULL'],
      ['category', 'VARCHAR(100) NOT NULL'],
      ['loinc_code', 'VARCHAR(100)'],
    ],
    unique: ['itemid'],
  },
  chartevents: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['subject_id', 'INT NOT NULL'],
      ['hadm_id', 'INT'],
      ['icustay_id', 'INT'],
      ['itemid', 'INT'],
      ['charttime', 'TIMESTAMP(0)'],
      ['storetime', 'TIMESTAMP(0)'],
      ['cgid', 'INT'],
      ['value', 'VARCHAR(255)'],
      ['valuenum', 'DOUBLE PRECISION'],
      ['valueuom', 'VARCHAR(50)'],
      ['warning', 'INT'],
      ['error', 'INT'],
      ['resultstatus', 'VARCHAR(50)'],
      ['stopped', 'VARCHAR(50)'],
    ],
    unique: [],
  },
  labevents: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['subject_id', 'INT NOT NULL'],
      ['hadm_id', 'INT'],
      ['itemid', 'INT NOT NULL'],
      ['charttime', 'TIMESTAMP(0)'],
      ['value', 'VARCHAR(200)'],
      ['valuenum', 'DOUBLE PRECISION'],
      ['valueuom', 'VARCHAR(20)'],
      ['flag', 'VARCHAR(20)'],
    ],
    unique: [],
  },
  diagnoses_icd: {
    primaryKey: 'row_id',
    columns: [
      ['row_id', 'INT NOT NULL'],
      ['subject_id', 'INT NOT NULL'],
      ['hadm_id', 'INT NOT NULL'],
      ['seq_num', 'INT'],
      ['icd9_code', 'VARCHAR(10)'],
    ],
    unique: [],
  },
} as const satisfies Record<
  string,
  { primaryKey: string; columns: readonly (readonly [string, string])[]; unique: readonly string[] }
>;

/** The name of a clinical table. */
export type ClinicalTableName = keyof typeof CLINICAL_TABLES;

/** Tables in load order (dictionaries and parents first). */
export const CLINICAL_TABLE_ORDER: readonly ClinicalTableName[] = [
  'd_items',
  'd_labitems',
  'patients',
  'admissions',
  'icustays',
  'chartevents',
  'labevents',
  'diagnoses_icd',
];

/** Indexes the extract queries need (MIMIC's own indexes on the join and key columns). */
const CLINICAL_INDEXES: readonly (readonly [ClinicalTableName, string])[] = [
  ['admissions', 'subject_id'],
  ['icustays', 'hadm_id'],
  ['chartevents', 'icustay_id'],
  ['chartevents', 'itemid'],
  ['labevents', 'hadm_id'],
  ['diagnoses_icd', 'hadm_id'],
];

/** Timestamps are `YYYY-MM-DD HH:MM:SS`, as MIMIC's TIMESTAMP(0) columns print; UTC by convention. */
export type SqlTimestamp = string;

/** Row types of the clinical tables, column for column. */
export type PatientRow = {
  row_id: number;
  subject_id: number;
  gender: 'M' | 'F';
  dob: SqlTimestamp;
  dod: SqlTimestamp | null;
  dod_hosp: SqlTimestamp | null;
  dod_ssn: SqlTimestamp | null;
  expire_flag: 0 | 1;
};

export type AdmissionRow = {
  row_id: number;
  subject_id: number;
  hadm_id: number;
  admittime: SqlTimestamp;
  dischtime: SqlTimestamp;
  deathtime: SqlTimestamp | null;
  admission_type: string;
  admission_location: string;
  discharge_location: string;
  insurance: string;
  language: string | null;
  religion: string | null;
  marital_status: string | null;
  ethnicity: string;
  edregtime: SqlTimestamp | null;
  edouttime: SqlTimestamp | null;
  diagnosis: string | null;
  hospital_expire_flag: 0 | 1;
  has_chartevents_data: 0 | 1;
};

export type IcuStayRow = {
  row_id: number;
  subject_id: number;
  hadm_id: number;
  icustay_id: number;
  dbsource: 'carevue' | 'metavision';
  first_careunit: string;
  last_careunit: string;
  first_wardid: number;
  last_wardid: number;
  intime: SqlTimestamp;
  outtime: SqlTimestamp | null;
  los: number | null;
};

export type DItemRow = {
  row_id: number;
  itemid: number;
  label: string;
  abbreviation: string | null;
  dbsource: string;
  linksto: string;
  category: string | null;
  unitname: string | null;
  param_type: string;
  conceptid: number | null;
};

export type DLabItemRow = {
  row_id: number;
  itemid: number;
  label: string;
  fluid: string;
  category: string;
  loinc_code: string | null;
};

export type ChartEventRow = {
  row_id: number;
  subject_id: number;
  hadm_id: number | null;
  icustay_id: number | null;
  itemid: number;
  charttime: SqlTimestamp;
  storetime: SqlTimestamp | null;
  cgid: number | null;
  value: string | null;
  valuenum: number | null;
  valueuom: string | null;
  warning: number | null;
  error: number | null;
  resultstatus: string | null;
  stopped: string | null;
};

export type LabEventRow = {
  row_id: number;
  subject_id: number;
  hadm_id: number | null;
  itemid: number;
  charttime: SqlTimestamp;
  value: string | null;
  valuenum: number | null;
  valueuom: string | null;
  flag: string | null;
};

export type DiagnosisIcdRow = {
  row_id: number;
  subject_id: number;
  hadm_id: number;
  seq_num: number;
  icd9_code: string;
};

/** A whole generated database, one array of rows per table. */
export type ClinicalDataset = {
  patients: PatientRow[];
  admissions: AdmissionRow[];
  icustays: IcuStayRow[];
  d_items: DItemRow[];
  d_labitems: DLabItemRow[];
  chartevents: ChartEventRow[];
  labevents: LabEventRow[];
  diagnoses_icd: DiagnosisIcdRow[];
};

const quote = (identifier: string): string => `"${identifier}"`;

/**
 * DDL that drops and recreates every table, so a seed run is idempotent. Keys and indexes come in
 * `finish`, to run after the bulk load: building them once is faster than maintaining them per row.
 */
export const planClinicalDdl = (): { create: string[]; finish: string[] } => {
  const create: string[] = [];
  const finish: string[] = [];
  for (const table of [...CLINICAL_TABLE_ORDER].reverse())
    create.push(`DROP TABLE IF EXISTS ${quote(table)}`);
  for (const table of CLINICAL_TABLE_ORDER) {
    const spec = CLINICAL_TABLES[table];
    const columns = spec.columns.map(([name, type]) => `  ${quote(name)} ${type}`);
    create.push(`CREATE TABLE ${quote(table)} (\n${columns.join(',\n')}\n)`);
    finish.push(
      `ALTER TABLE ${quote(table)} ADD CONSTRAINT ${quote(`${table}_rowid_pk`)} PRIMARY KEY (${quote(spec.primaryKey)})`,
    );
    for (const column of spec.unique) {
      finish.push(
        `ALTER TABLE ${quote(table)} ADD CONSTRAINT ${quote(`${table}_${column}_unique`)} UNIQUE (${quote(column)})`,
      );
    }
  }
  for (const [table, column] of CLINICAL_INDEXES) {
    finish.push(`CREATE INDEX ${quote(`${table}_idx_${column}`)} ON ${quote(table)} (${quote(column)})`);
  }
  return { create, finish };
};

/** The SQL array type used to bulk load a column through `unnest` (`INT NOT NULL` -> `int[]`). */
export const arrayTypeOf = (sqlType: string): string => {
  const base = sqlType.replace(/ NOT NULL$/, '').toLowerCase();
  if (base.startsWith('varchar')) return 'text[]';
  if (base.startsWith('timestamp')) return 'timestamp[]';
  if (base === 'double precision') return 'float8[]';
  if (base === 'smallint') return 'int2[]';
  return 'int4[]';
};
