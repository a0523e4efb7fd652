import { CLEANING_FUNCTIONS, type CleaningFunction, isCleaningName, type RuleArgs } from './cleaning';
import { MappingError } from './errors';
import type { ConceptMap, Condition, Mapping, Rule } from './mapping-schema';
import { isMergingName, MERGING_FUNCTIONS, type MergingFunction } from './merging';
import { type PathSegment, parsePath } from './paths';

/** A named function resolved from the registry, with its arguments. */
export type CompiledRule<F> = { name: string; fn: F; args: RuleArgs };

/** An input ready to evaluate: where the value comes from and what happens to it. */
export type CompiledInput = {
  column: string | null;
  staticValue: string | number | boolean | null;
  cleaning: CompiledRule<CleaningFunction> | null;
  conceptMap: { id: string; map: ConceptMap } | null;
  /** Target mapping id and its resource type. */
  reference: { mapping: string; resourceType: string } | null;
};

/** An input group: applies when its conditions hold; several inputs are merged. */
export type CompiledGroup = {
  conditions: readonly Condition[];
  inputs: readonly CompiledInput[];
  merging: CompiledRule<MergingFunction> | null;
};

/** An attribute with its parsed path and the many join whose rows fill its `[*]`, if any. */
export type CompiledAttribute = {
  path: string;
  segments: readonly PathSegment[];
  each: string | null;
  groups: readonly CompiledGroup[];
};

/** A mapping checked as a whole and ready to run: the SQL plan and the transformation. */
export type CompiledMapping = {
  mapping: Mapping;
  /** `table.primary_key`: the row key the rows of one resource share. */
  keyColumn: string;
  /** Every `alias.column` the transformation reads, in a stable order; the SQL selects exactly these. */
  columns: readonly string[];
  /** Many joins in declaration order with their `alias.key` column. */
  manyJoins: readonly { alias: string; keyColumn: string }[];
  attributes: readonly CompiledAttribute[];
};

/** Compiled mappings by id; references between them are resolved at compile time. */
export type MappingRegistry = ReadonlyMap<string, CompiledMapping>;

const compileRule = <F>(
  rule: string | Rule,
  known: (name: string) => boolean,
  table: Record<string, F>,
  kind: string,
  where: string,
): CompiledRule<F> => {
  const { name, args } =
    typeof rule === 'string' ? { name: rule, args: {} } : { name: rule.name, args: rule.args ?? {} };
  const fn = known(name) ? table[name] : undefined;
  if (fn === undefined) throw new MappingError(`${where}: unknown ${kind} function ${name}`);
  return { name, fn, args };
};

/**
 * Checks mappings against each other and prepares them: aliases exist, joins hang off known
 * aliases, a column of a many join is only read by an attribute iterating that join, paths parse,
 * functions and concept maps exist, and references point at a mapping of the set.
 */
export const compileMappings = (mappings: readonly Mapping[]): MappingRegistry => {
  const types = new Map<string, string>();
  for (const mapping of mappings) {
    if (types.has(mapping.id)) throw new MappingError(`duplicate mapping id ${mapping.id}`);
    types.set(mapping.id, mapping.resourceType);
  }
  return new Map(mappings.map((mapping) => [mapping.id, compileMapping(mapping, types)]));
};

const compileMapping = (mapping: Mapping, types: ReadonlyMap<string, string>): CompiledMapping => {
  const root = mapping.source.table;
  const fail: (message: string) => never = (message) => {
    throw new MappingError(`mapping ${mapping.id}: ${message}`);
  };
  // alias -> the many join it belongs to (itself or an ancestor), or null under the root only.
  const owner = new Map<string, string | null>([[root, null]]);
  const manyJoins: { alias: string; keyColumn: string }[] = [];
  for (const join of mapping.joins) {
    if (owner.has(join.alias)) fail(`join alias ${join.alias} is used twice`);
    const parent = owner.get(join.from);
    if (parent === undefined) fail(`join ${join.alias} hangs off unknown alias ${join.from}`);
    if (join.cardinality === 'many') {
      // Two nested many joins would multiply rows into a product no path syntax can address.
      if (parent) fail(`many join ${join.alias} cannot hang off many join ${parent}`);
      owner.set(join.alias, join.alias);
      manyJoins.push({ alias: join.alias, keyColumn: `${join.alias}.${join.key}` });
    } else owner.set(join.alias, parent ?? null);
  }

  const columns = new Set<string>([`${root}.${mapping.source.primaryKey}`]);
  for (const many of manyJoins) columns.add(many.keyColumn);
  const useColumn = (column: string, where: string, each: string | null): string => {
    const alias = column.split('.')[0] ?? '';
    const columnOwner = owner.get(alias);
    if (columnOwner === undefined) fail(`${where}: unknown alias ${alias} in ${column}`);
    if (columnOwner && columnOwner !== each)
      fail(`${where}: ${column} is on many join ${columnOwner}; set "each": "${columnOwner}"`);
    columns.add(column);
    return column;
  };
  for (const filter of mapping.filters) useColumn(filter.column, 'filter', null);

  const attributes = mapping.attributes.map((attribute): CompiledAttribute => {
    const where = `attribute ${attribute.path}`;
    const segments = parsePath(attribute.path) ?? fail(`${where}: not a FHIR path`);
    const stars = segments.filter((segment) => segment.kind === 'each').length;
    const each = attribute.each ?? null;
    if (each === null && stars > 0) fail(`${where}: [*] needs "each"`);
    if (each !== null && (stars !== 1 || owner.get(each) !== each)) {
      fail(`${where}: "each" must name a many join and the path must have one [*]`);
    }
    const groups = attribute.inputGroups.map((group): CompiledGroup => {
      for (const condition of group.conditions) useColumn(condition.column, where, each);
      const inputs = group.inputs.map((input): CompiledInput => {
        const conceptMap = input.conceptMap === undefined ? null : mapping.conceptMaps[input.conceptMap];
        if (conceptMap === undefined) fail(`${where}: unknown concept map ${input.conceptMap}`);
        let reference: CompiledInput['reference'] = null;
        if (input.reference !== undefined) {
          const resourceType =
            types.get(input.reference) ?? fail(`${where}: reference to unknown mapping ${input.reference}`);
          reference = { mapping: input.reference, resourceType };
        }
        return {
          column: input.column === undefined ? null : useColumn(input.column, where, each),
          staticValue: input.static ?? null,
          cleaning:
            input.cleaning === undefined
              ? null
              : compileRule(
                  input.cleaning,
                  isCleaningName,
                  CLEANING_FUNCTIONS as Record<string, CleaningFunction>,
                  'cleaning',
                  where,
                ),
          conceptMap:
            conceptMap === null || input.conceptMap === undefined
              ? null
              : { id: input.conceptMap, map: conceptMap },
          reference,
        };
      });
      return {
        conditions: group.conditions,
        inputs,
        merging:
          group.merging === undefined
            ? null
            : compileRule(
                group.merging,
                isMergingName,
                MERGING_FUNCTIONS as Record<string, MergingFunction>,
                'merging',
                where,
              ),
      };
    });
    return { path: attribute.path, segments, each, groups };
  });

  return {
    mapping,
    keyColumn: `${root}.${mapping.source.primaryKey}`,
    columns: [...columns],
    manyJoins,
    attributes,
  };
};
