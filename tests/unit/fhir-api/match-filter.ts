import type { Filter } from '../../../lib/fhir-api/filter';

/**
 * A test double for MongoDB's query matcher, for the operators the FHIR API plans ($and, $or,
 * $eq by literal, $gt/$gte/$lt/$lte, $in, $nin, $exists, $elemMatch), following the documented
 * semantics: comparisons only match values of the same type, a path through an array matches when
 * any element does, $nin and $exists:false match a missing field.
 */
type Json = Record<string, unknown>;

const valuesAt = (document: unknown, path: string[]): unknown[] => {
  if (path.length === 0) return Array.isArray(document) ? [document, ...document] : [document];
  if (Array.isArray(document)) return document.flatMap((item) => valuesAt(item, path));
  if (typeof document !== 'object' || document === null) return [];
  const [head, ...rest] = path as [string, ...string[]];
  if (!(head in document)) return [];
  return valuesAt((document as Json)[head], rest);
};

const compare = (value: unknown, operand: unknown, test: (order: number) => boolean): boolean =>
  typeof value === typeof operand &&
  typeof value !== 'object' &&
  test((value as string | number) < (operand as string | number) ? -1 : value === operand ? 0 : 1);

const matchesOperators = (values: unknown[], operators: Json): boolean =>
  Object.entries(operators).every(([operator, operand]) => {
    switch (operator) {
      case '$gt':
        return values.some((value) => compare(value, operand, (order) => order > 0));
      case '$gte':
        return values.some((value) => compare(value, operand, (order) => order >= 0));
      case '$lt':
        return values.some((value) => compare(value, operand, (order) => order < 0));
      case '$lte':
        return values.some((value) => compare(value, operand, (order) => order <= 0));
      case '$in':
        return values.some((value) => (operand as unknown[]).includes(value));
      case '$nin':
        return !values.some((value) => (operand as unknown[]).includes(value));
      case '$exists':
        return values.length > 0 === operand;
      case '$elemMatch':
        return values.some(
          (value) =>
            Array.isArray(value) === false &&
            typeof value === 'object' &&
            value !== null &&
            matchesFilter(value, operand as Filter),
        );
      default:
        throw new Error(`match-filter does not implement ${operator}`);
    }
  });

const isOperatorObject = (value: unknown): value is Json =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length > 0 &&
  Object.keys(value).every((key) => key.startsWith('$'));

/** Whether `document` matches `filter`, as MongoDB would decide. */
export const matchesFilter = (document: unknown, filter: Filter): boolean =>
  Object.entries(filter).every(([key, condition]) => {
    if (key === '$and') return (condition as Filter[]).every((part) => matchesFilter(document, part));
    if (key === '$or') return (condition as Filter[]).some((part) => matchesFilter(document, part));
    if (key.startsWith('$')) throw new Error(`match-filter does not implement ${key}`);
    const values = valuesAt(document, key.split('.'));
    if (isOperatorObject(condition)) {
      // $elemMatch looks at the elements of an array, not at the array itself.
      if ('$elemMatch' in condition) {
        const elements = values.filter((value) => !Array.isArray(value));
        return matchesOperators(elements, condition);
      }
      return matchesOperators(values, condition);
    }
    return values.some((value) => value === condition);
  });
