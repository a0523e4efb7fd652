import { ParseError } from '../errors';
import type { FhirResource, KeyValue, SourceRow } from '../fhir';

/**
 * The contract between the pipeline's stages. Every record carries the batch id and the mapping id
 * in headers from extract to load (and into the DLQ, whose letters keep the original headers), so
 * a batch can be counted per resource wherever its records end up.
 */
export const PIPELINE_HEADERS = {
  batchId: 'medstream-batch-id',
  mapping: 'medstream-mapping',
  /** `topic/partition/offset` of the raw record a `fhir.*` record was made from: what batches count. */
  rawRecord: 'medstream-raw-record',
} as const;

/** Topic names of the stages; tests and benchmarks give a prefix of their own. */
export type TopicNames = {
  raw(mappingId: string): string;
  fhir(resourceType: string): string;
};

/** `raw.<mapping id>` and `fhir.<resource type>`, after an optional prefix. */
export const createTopicNames = (prefix = ''): TopicNames => ({
  raw: (mappingId) => `${prefix}raw.${mappingId}`,
  fhir: (resourceType) => `${prefix}fhir.${resourceType}`,
});

/** A `raw.<mapping>` record's value: every source row of one resource (one primary key). */
export type RawResourceRows = { mapping: string; key: KeyValue; rows: SourceRow[] };

const RAW_KEYS = new Set(['mapping', 'key', 'rows']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a raw record's value where it enters the transform; a bad shape is a poison record. Checked
 * by hand rather than by a schema library: this runs once per record on the hot path, and the
 * messages name fields only, never a received value.
 */
export const parseRawResourceRows = (value: unknown): RawResourceRows => {
  const fail = (problem: string): never => {
    throw new ParseError(`raw record is not resource rows: ${problem}`);
  };
  if (!isPlainObject(value)) return fail('not a JSON object');
  for (const name of Object.keys(value)) if (!RAW_KEYS.has(name)) fail(`unknown field ${name.slice(0, 64)}`);
  const { mapping, key, rows } = value;
  if (typeof mapping !== 'string' || mapping.length === 0 || mapping.length > 64)
    fail('mapping must be a mapping id');
  if (!(typeof key === 'number' && Number.isFinite(key)) && !(typeof key === 'string' && key.length > 0)) {
    fail('key must be a number or a non-empty string');
  }
  if (!Array.isArray(rows) || rows.length === 0) return fail('rows must be a non-empty array');
  for (let index = 0; index < rows.length; index += 1) {
    if (!isPlainObject(rows[index])) fail(`rows.${index} must be an object`);
  }
  return value as RawResourceRows;
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

/** Parses a `fhir.<type>` record's value where it enters the load: a resource with a type and an id. */
export const parseFhirResource = (value: unknown): FhirResource => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ParseError('FHIR record is not a JSON object');
  }
  const { resourceType, id } = value as Record<string, unknown>;
  if (typeof resourceType !== 'string' || !RESOURCE_TYPE.test(resourceType)) {
    throw new ParseError('FHIR record has no valid resourceType');
  }
  if (typeof id !== 'string' || !FHIR_ID.test(id)) throw new ParseError('FHIR record has no valid id');
  return value as FhirResource;
};
