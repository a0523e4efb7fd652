import type {
  CompiledAttribute,
  CompiledGroup,
  CompiledInput,
  CompiledMapping,
  MappingRegistry,
} from './compile';
import { describeValueType, MappingError, RuleError, TransformError } from './errors';
import { deriveResourceId } from './ids';
import type { Condition } from './mapping-schema';
import { pruneEmpty, type SliceIndex, setAtPath } from './paths';
import type { SourceRow } from './rows';

/** A FHIR resource as JSON. */
export type FhirResource = { resourceType: string; id: string; meta: FhirMeta } & Record<string, unknown>;
/** The meta the engine writes on every resource. */
export type FhirMeta = {
  lastUpdated: string;
  profile?: string[];
  tag: { system: string; code: string }[];
};

/** Systems of the meta.tag codings that say where a resource came from. */
export const META_TAG_SYSTEMS = {
  source: 'urn:medstream:fhir:source',
  mapping: 'urn:medstream:fhir:mapping',
} as const;

const holds = (condition: Condition, value: unknown): boolean => {
  const absent = value === null || value === undefined;
  if (condition.relation === 'null') return absent;
  if (condition.relation === 'not-null') return !absent;
  if (absent) return false;
  const expected = condition.value;
  let order: number;
  if (typeof expected === 'number') {
    const actual = typeof value === 'number' ? value : Number(value);
    if (Number.isNaN(actual)) return false;
    order = actual === expected ? 0 : actual < expected ? -1 : 1;
  } else {
    const actual = value instanceof Date ? value.toISOString() : String(value);
    const target = String(expected);
    order = actual === target ? 0 : actual < target ? -1 : 1;
  }
  switch (condition.relation) {
    case 'eq':
      return order === 0;
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
  }
  return false;
};

const applies = (group: CompiledGroup, row: SourceRow): boolean =>
  group.conditions.every(
    (condition) => holds(condition, row[condition.column]) === (condition.action === 'include'),
  );

const failAt = (
  compiled: CompiledMapping,
  attribute: CompiledAttribute,
  column: string | null,
  rule: string,
  value: unknown,
  cause?: unknown,
): never => {
  throw new TransformError(
    {
      mapping: compiled.mapping.id,
      attribute: attribute.path,
      column,
      rule,
      valueType: cause instanceof RuleError ? cause.valueType : describeValueType(value),
    },
    { cause },
  );
};

const evaluateInput = (
  compiled: CompiledMapping,
  attribute: CompiledAttribute,
  input: CompiledInput,
  row: SourceRow,
): unknown => {
  let value: unknown;
  if (input.column === null) value = input.staticValue;
  else {
    value = row[input.column];
    // A missing key is a row that does not match the mapping (a stale raw record), not a NULL.
    if (value === undefined) failAt(compiled, attribute, input.column, 'column-present', value);
  }
  if (input.cleaning !== null) {
    try {
      value = input.cleaning.fn(value, input.cleaning.args);
    } catch (error) {
      failAt(compiled, attribute, input.column, `cleaning:${input.cleaning.name}`, value, error);
    }
  }
  if (value === null || value === undefined) return null;
  if (input.conceptMap !== null) {
    const mapped = input.conceptMap.map.entries[String(value)] ?? input.conceptMap.map.default;
    if (mapped === undefined)
      failAt(compiled, attribute, input.column, `conceptMap:${input.conceptMap.id}`, value);
    value = mapped;
  }
  if (input.reference !== null) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      return failAt(compiled, attribute, input.column, `reference:${input.reference.mapping}`, value);
    }
    return `${input.reference.resourceType}/${deriveResourceId(input.reference.mapping, value)}`;
  }
  return value;
};

const evaluateAttribute = (
  compiled: CompiledMapping,
  attribute: CompiledAttribute,
  row: SourceRow,
): unknown => {
  // The first group whose conditions hold gives the value, even when that value is absent.
  for (const group of attribute.groups) {
    if (!applies(group, row)) continue;
    if (group.merging === null)
      return evaluateInput(compiled, attribute, group.inputs[0] as CompiledInput, row);
    const values = group.inputs.map((input) => evaluateInput(compiled, attribute, input, row));
    try {
      return group.merging.fn(values, group.merging.args);
    } catch (error) {
      return failAt(compiled, attribute, null, `merging:${group.merging.name}`, values, error);
    }
  }
  return null;
};

/** The distinct rows of a many join, in query order; rows where the join matched nothing are skipped. */
const distinctRows = (rows: readonly SourceRow[], keyColumn: string): SourceRow[] => {
  const seen = new Set<unknown>();
  const result: SourceRow[] = [];
  for (const row of rows) {
    const key = row[keyColumn];
    if (key === null || key === undefined || seen.has(key)) continue;
    seen.add(key);
    result.push(row);
  }
  return result;
};

/**
 * Builds the FHIR resource of one primary key from its rows (all rows of that key, as the
 * generated SQL returns them). Pure: `now` is meta.lastUpdated. Throws TransformError (not
 * retryable) naming the attribute, column, rule and value type when a row cannot be mapped.
 */
export const transformRows = (
  compiled: CompiledMapping,
  rows: readonly SourceRow[],
  now: Date,
): FhirResource => {
  const { mapping } = compiled;
  const first = rows[0];
  if (first === undefined) throw new MappingError(`mapping ${mapping.id}: no rows to transform`);
  const key = first[compiled.keyColumn];
  if (typeof key !== 'string' && typeof key !== 'number') {
    throw new TransformError({
      mapping: mapping.id,
      attribute: 'id',
      column: compiled.keyColumn,
      rule: 'primary-key',
      valueType: describeValueType(key ?? null),
    });
  }
  const body: Record<string, unknown> = {};
  const slices: SliceIndex = new WeakMap();
  const eachRows = new Map<string, SourceRow[]>();
  for (const join of compiled.manyJoins) eachRows.set(join.alias, distinctRows(rows, join.keyColumn));

  for (const attribute of compiled.attributes) {
    if (attribute.each === null) {
      const value = evaluateAttribute(compiled, attribute, first);
      if (value !== null && value !== undefined) setAtPath(body, attribute.segments, value, 0, slices);
      continue;
    }
    (eachRows.get(attribute.each) ?? []).forEach((row, index) => {
      const value = evaluateAttribute(compiled, attribute, row);
      if (value !== null && value !== undefined) setAtPath(body, attribute.segments, value, index, slices);
    });
  }

  const meta: FhirMeta = {
    lastUpdated: now.toISOString(),
    tag: [
      { system: META_TAG_SYSTEMS.source, code: mapping.source.name },
      { system: META_TAG_SYSTEMS.mapping, code: mapping.id },
    ],
  };
  if (mapping.profile.length > 0) meta.profile = [...mapping.profile];
  const pruned = (pruneEmpty(body) ?? {}) as Record<string, unknown>;
  // resourceType, id and meta are the engine's: an attribute cannot overwrite them.
  delete pruned.resourceType;
  delete pruned.id;
  delete pruned.meta;
  return { resourceType: mapping.resourceType, id: deriveResourceId(mapping.id, key), meta, ...pruned };
};

/** Looks a mapping up by id; an unknown id is a caller error (404 at the API). */
export const getMapping = (registry: MappingRegistry, id: string): CompiledMapping | undefined =>
  registry.get(id);
