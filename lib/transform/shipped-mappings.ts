import { readConnectorFiles } from '../connectors/files';
import { compileMappings, type MappingRegistry, parseMapping } from '../fhir';

/**
 * Parses and compiles the mappings of `connectors/mappings/` (once, at cold start): every file
 * there, bundled into the functions at build time.
 */
export const loadShippedMappings = (): MappingRegistry =>
  compileMappings(
    Object.entries(readConnectorFiles('mappings')).map(([name, document]) => parseMapping(document, name)),
  );
