import { describeValueType, RuleError } from './errors';

/** Arguments a mapping gives a cleaning or merging function (`{ "decimals": 2 }`). */
export type RuleArgs = Readonly<Record<string, string | number | boolean | null>>;
/** A cleaning function: a source value in, a FHIR value out, null for "absent"; throws RuleError. */
export type CleaningFunction = (value: unknown, args: RuleArgs) => unknown;

const reject = (value: unknown): never => {
  throw new RuleError(describeValueType(value));
};

// `2101-10-30 11:27:33`, `2101-10-30T11:27:33.5`, with or without a zone; no zone means UTC, which
// is how MIMIC's TIMESTAMP(0) columns are meant (and how pg returns them as text).
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Reads a source timestamp (text, Date or epoch ms) as epoch ms; throws RuleError when it is not one. */
export const readInstant = (value: unknown): number => {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? reject(value) : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? value : reject(value);
  if (typeof value !== 'string') return reject(value);
  const match = TIMESTAMP.exec(value.trim());
  if (match === null) return reject(value);
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = match;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone === undefined ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`;
  const ms = Date.parse(iso);
  // Date.parse rolls 2100-02-30 over to March; a round trip catches impossible dates.
  if (Number.isNaN(ms)) return reject(value);
  if (zone === undefined && new Date(ms).toISOString().slice(0, 10) !== `${y}-${mo}-${d}`)
    return reject(value);
  return ms;
};

const isBlank = (value: unknown): boolean =>
  value === null || value === undefined || (typeof value === 'string' && value.trim() === '');

const readNumber = (value: unknown): number => {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value))
    return Number(value);
  // pg returns BIGINT and NUMERIC as strings, which the regex above accepts.
  return reject(value);
};

// MIMIC's units as charted -> UCUM codes (http://unitsofmeasure.org). Only units whose meaning is
// certain are listed: an unknown unit fails the row rather than emitting a wrong quantity.
const UCUM: Readonly<Record<string, string>> = {
  bpm: '/min',
  BPM: '/min',
  'insp/min': '/min',
  'breaths/min': '/min',
  mmHg: 'mm[Hg]',
  '%': '%',
  'Deg. F': '[degF]',
  '?F': '[degF]',
  '°F': '[degF]',
  'Deg. C': 'Cel',
  '?C': 'Cel',
  '°C': 'Cel',
  'mg/dL': 'mg/dL',
  'g/dL': 'g/dL',
  'mEq/L': 'meq/L',
  'mmol/L': 'mmol/L',
  'K/uL': '10*3/uL',
  'm/uL': '10*6/uL',
  'IU/L': '[IU]/L',
  'U/L': 'U/L',
  sec: 's',
  units: '[pH]',
  kg: 'kg',
  cm: 'cm',
  'mL/min': 'mL/min',
};

/** The cleaning functions a mapping can name; adding one here makes it available to every mapping. */
export const CLEANING_FUNCTIONS = {
  /** FHIR dateTime in UTC at second precision (`2101-10-30T11:27:33Z`). */
  dateTime: (value) =>
    isBlank(value) ? null : `${new Date(readInstant(value)).toISOString().slice(0, 19)}Z`,
  /** FHIR instant: same shape as dateTime here, which always carries seconds and a zone. */
  instant: (value) => (isBlank(value) ? null : `${new Date(readInstant(value)).toISOString().slice(0, 19)}Z`),
  /** FHIR date (`2101-10-30`), the UTC calendar day. */
  date: (value) => (isBlank(value) ? null : new Date(readInstant(value)).toISOString().slice(0, 10)),
  /** Trimmed text; blank is absent. */
  string: (value) => {
    if (isBlank(value)) return null;
    if (typeof value === 'string') return value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return reject(value);
  },
  /** A FHIR code: trimmed, inner whitespace runs collapsed to one space. */
  code: (value) => {
    if (isBlank(value)) return null;
    if (typeof value !== 'string' && typeof value !== 'number') return reject(value);
    return String(value).trim().replace(/\s+/g, ' ');
  },
  lowercase: (value) =>
    isBlank(value) ? null : typeof value === 'string' ? value.trim().toLowerCase() : reject(value),
  uppercase: (value) =>
    isBlank(value) ? null : typeof value === 'string' ? value.trim().toUpperCase() : reject(value),
  /** A finite decimal; `args.decimals` rounds it. */
  number: (value, args) => {
    if (isBlank(value)) return null;
    const number = readNumber(value);
    const decimals = args.decimals;
    if (typeof decimals !== 'number') return number;
    const factor = 10 ** decimals;
    return Math.round(number * factor) / factor;
  },
  integer: (value) => {
    if (isBlank(value)) return null;
    const number = readNumber(value);
    return Number.isInteger(number) ? number : reject(value);
  },
  positiveInt: (value) => {
    if (isBlank(value)) return null;
    const number = readNumber(value);
    return Number.isInteger(number) && number > 0 ? number : reject(value);
  },
  /** Booleans as sources spell them: 1/0, Y/N, t/f, yes/no, true/false. */
  boolean: (value) => {
    if (isBlank(value)) return null;
    if (typeof value === 'boolean') return value;
    const text = String(value).trim().toLowerCase();
    if (['1', 'y', 'yes', 't', 'true'].includes(text)) return true;
    if (['0', 'n', 'no', 'f', 'false'].includes(text)) return false;
    return reject(value);
  },
  /** MIMIC stores ICD-9-CM codes without the dot: `4019` -> `401.9`, `V4581` -> `V45.81`, `E8497` -> `E849.7`. */
  icd9: (value) => {
    if (isBlank(value)) return null;
    if (typeof value !== 'string') return reject(value);
    const code = value.trim().toUpperCase();
    if (!/^(\d{3,5}|V\d{2,4}|E\d{3,4})$/.test(code)) return reject(value);
    const head = code.startsWith('E') ? 4 : 3;
    return code.length > head ? `${code.slice(0, head)}.${code.slice(head)}` : code;
  },
  /** A LOINC code, checked for shape (`8867-4`). */
  loinc: (value) => {
    if (isBlank(value)) return null;
    if (typeof value !== 'string') return reject(value);
    return /^\d{1,7}-\d$/.test(value.trim()) ? value.trim() : reject(value);
  },
  /** A charted unit as its UCUM code (`mmHg` -> `mm[Hg]`); an unknown unit fails the row. */
  ucum: (value) => {
    if (isBlank(value)) return null;
    if (typeof value !== 'string') return reject(value);
    return UCUM[value.trim()] ?? reject(value);
  },
  /** Degrees Fahrenheit to Celsius, one decimal. */
  fahrenheitToCelsius: (value) => {
    if (isBlank(value)) return null;
    return Math.round(((readNumber(value) - 32) * 50) / 9) / 10;
  },
} as const satisfies Record<string, CleaningFunction>;

/** The name of a cleaning function. */
export type CleaningName = keyof typeof CLEANING_FUNCTIONS;

/** Whether a mapping's cleaning name is a known function. */
export const isCleaningName = (name: string): name is CleaningName => Object.hasOwn(CLEANING_FUNCTIONS, name);
