/**
 * The FHIR mapping engine's public API: parse and compile declarative mappings, generate their
 * SQL, group source rows by resource and transform them into FHIR R4 resources. Pure: no driver,
 * no clock, no environment.
 */
export { CLEANING_FUNCTIONS, type CleaningName } from './cleaning';
export { type CompiledMapping, compileMappings, type MappingRegistry } from './compile';
export { MappingError, TransformError, type TransformFailure } from './errors';
export { deriveResourceId, uuidV5 } from './ids';
export { parseMapping } from './mapping-files';
export { type Mapping, mappingSchema } from './mapping-schema';
export { selectRowsInMemory } from './memory-source';
export { MERGING_FUNCTIONS, type MergingName } from './merging';
export { groupRowsByKey, prefixRow, type RowGroup, type SourceRow } from './rows';
export {
  buildChangeQuery,
  buildKeyQuery,
  buildPageQuery,
  type ChangeOffset,
  type KeyValue,
  type SqlQuery,
} from './sql';
export { type FhirResource, getMapping, META_TAG_SYSTEMS, transformRows } from './transform';
