import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileMappings, type MappingRegistry } from './compile';
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

/** Reads every `*.json` mapping of a directory (sorted by file name), parsed but not compiled. */
export const readMappingDirectory = (directory: string): Mapping[] =>
  readdirSync(directory)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const path = join(directory, name);
      let document: unknown;
      try {
        document = JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        throw new MappingError(`${name}: not JSON`, { cause: error });
      }
      return parseMapping(document, name);
    });

/** Reads and compiles a directory of mappings (`connectors/mappings`) at cold start. */
export const loadMappingRegistry = (directory: string): MappingRegistry =>
  compileMappings(readMappingDirectory(directory));
