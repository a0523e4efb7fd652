import { z } from 'zod';

/**
 * The declarative mapping model, after arkhn/fhir-river's: a resource mapping reads one source
 * table keyed by a primary key, narrowed by filters, widened by LEFT joins; each attribute puts a
 * value at a FHIR path, chosen from input groups by conditions; inputs are columns or static values,
 * cleaned by named functions, translated by concept maps, or turned into references. Every object
 * is strict: a typo in a connector file is an error, not a silently ignored key.
 */

// Identifiers end up quoted in SQL; they are also restricted to what a PostgreSQL name can be
// without quoting, so a mapping cannot smuggle anything into a query.
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case SQL identifier');
/** `alias.column`, where alias is the source table or a join's alias. */
const columnRef = z.string().regex(/^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$/, 'alias.column');
const mappingId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'kebab-case id');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Comparison operators of resource filters, rendered as SQL with bound values. */
export const FILTER_OPERATORS = ['=', '<>', 'IN', '<', '<=', '>', '>=', 'BETWEEN', 'LIKE'] as const;
/** Relations of input-group conditions, evaluated on the row in the engine. */
export const CONDITION_RELATIONS = ['eq', 'gt', 'ge', 'lt', 'le', 'null', 'not-null'] as const;

const filterSchema = z.discriminatedUnion('op', [
  z
    .object({
      column: columnRef,
      op: z.enum(['=', '<>', '<', '<=', '>', '>=']),
      value: z.union([z.string(), z.number()]),
    })
    .strict(),
  z
    .object({
      column: columnRef,
      op: z.literal('IN'),
      value: z.array(z.union([z.string(), z.number()])).min(1),
    })
    .strict(),
  z
    .object({
      column: columnRef,
      op: z.literal('BETWEEN'),
      value: z.tuple([z.union([z.string(), z.number()]), z.union([z.string(), z.number()])]),
    })
    .strict(),
  z.object({ column: columnRef, op: z.literal('LIKE'), value: z.string() }).strict(),
]);

const joinSchema = z
  .object({
    /** Name the attributes use for the joined table (`adm.admittime`). */
    alias: identifier,
    table: identifier,
    /** Alias this join hangs off: the source table or an earlier join (multi-hop). */
    from: identifier,
    /** Column pairs: `[column of from, column of table]`. */
    on: z.array(z.tuple([identifier, identifier])).min(1),
    /** `many` when one source row can match several joined rows (fills arrays). */
    cardinality: z.enum(['one', 'many']).default('one'),
    /** A unique column of the joined table: orders and tells apart the rows of a `many` join. */
    key: identifier.optional(),
  })
  .strict()
  .refine((join) => join.cardinality === 'one' || join.key !== undefined, {
    message: 'a many join needs a key column',
  });

const conditionSchema = z
  .object({
    action: z.enum(['include', 'exclude']),
    column: columnRef,
    relation: z.enum(CONDITION_RELATIONS),
    value: scalar.optional(),
  })
  .strict()
  .refine(
    (condition) =>
      (condition.relation === 'null' || condition.relation === 'not-null') ===
      (condition.value === undefined),
    {
      message: 'null and not-null take no value; the other relations need one',
    },
  );

const ruleSchema = z
  .object({ name: z.string().min(1), args: z.record(z.union([scalar, z.null()])).optional() })
  .strict();

const inputSchema = z
  .object({
    column: columnRef.optional(),
    static: scalar.optional(),
    /** Named cleaning function applied to the value (`dateTime`, `icd9`, `ucum`…). */
    cleaning: z.union([z.string().min(1), ruleSchema]).optional(),
    /** Id of a concept map of this mapping, applied after cleaning. */
    conceptMap: z.string().min(1).optional(),
    /** Id of the mapping whose resource this value is the primary key of: gives `Type/<id>`. */
    reference: mappingId.optional(),
  })
  .strict()
  .refine((input) => (input.column === undefined) !== (input.static === undefined), {
    message: 'an input is either a column or a static value',
  });

const inputGroupSchema = z
  .object({
    inputs: z.array(inputSchema).min(1),
    /** All must hold (include) or fail (exclude) for the group to apply; the first group that applies wins. */
    conditions: z.array(conditionSchema).default([]),
    /** Combines several inputs into one value (`concatenate`, `coalesce`…). */
    merging: z.union([z.string().min(1), ruleSchema]).optional(),
  })
  .strict()
  .refine((group) => group.inputs.length === 1 || group.merging !== undefined, {
    message: 'several inputs need a merging function',
  });

const attributeSchema = z
  .object({
    /** FHIR path: `name[0].given[1]`, `component:systolic.code`, `diagnosis[*].rank`. */
    path: z.string().min(1),
    /** The `many` join whose rows fill the `[*]` of the path, one element per row. */
    each: identifier.optional(),
    inputGroups: z.array(inputGroupSchema).min(1),
  })
  .strict();

const conceptMapSchema = z
  .object({
    /** Source code -> target code. */
    entries: z.record(z.string(), scalar),
    /** Target when the code is not in the map; without one an unmapped code fails the row. */
    default: scalar.optional(),
  })
  .strict();

/** The schema of a mapping file in `connectors/mappings/`. */
export const mappingSchema = z
  .object({
    $schema: z.string().optional(),
    id: mappingId,
    description: z.string().optional(),
    resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/),
    source: z
      .object({
        /** Source system name, written to meta.tag. */
        name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
        table: identifier,
        primaryKey: identifier,
      })
      .strict(),
    profile: z.array(z.string().url()).default([]),
    filters: z.array(filterSchema).default([]),
    joins: z.array(joinSchema).default([]),
    conceptMaps: z.record(z.string().min(1), conceptMapSchema).default({}),
    attributes: z.array(attributeSchema).min(1),
  })
  .strict();

/** A parsed mapping, defaults filled. */
export type Mapping = z.infer<typeof mappingSchema>;
/** A mapping as written in a file, before defaults. */
export type MappingInput = z.input<typeof mappingSchema>;
/** Parts of a mapping, by name. */
export type Filter = Mapping['filters'][number];
export type Join = Mapping['joins'][number];
export type Attribute = Mapping['attributes'][number];
export type InputGroup = Attribute['inputGroups'][number];
export type Input = InputGroup['inputs'][number];
export type Condition = InputGroup['conditions'][number];
export type Rule = z.infer<typeof ruleSchema>;
export type ConceptMap = z.infer<typeof conceptMapSchema>;
