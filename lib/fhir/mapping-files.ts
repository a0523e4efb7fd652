import { MappingError } from './errors';
import { type Mapping, mappingSchema } from './mapping-schema';

/** Parses one mapping document; the error lists every problem with its JSON path. */
export const parseMapping = (document: unknown, source: string): Mapping => {
  const result = mappingSchema.safeParse(document);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  throw new MappingError(`${source}: invalid mapping: ${problems.join('; ')}`);
};
