import { type CompiledMapping, compileMappings } from '../../../lib/fhir/compile';
import { parseMapping } from '../../../lib/fhir/mapping-files';
import type { MappingInput } from '../../../lib/fhir/mapping-schema';

/** A minimal valid mapping document, for tests to extend. */
export const baseMapping = (overrides: Partial<MappingInput> = {}): MappingInput => ({
  id: 'test-patient',
  resourceType: 'Patient',
  source: { name: 'mimic', table: 'patients', primaryKey: 'subject_id' },
  attributes: [{ path: 'gender', inputGroups: [{ inputs: [{ static: 'unknown' }] }] }],
  ...overrides,
});

/** Parses and compiles one mapping, with `others` available as reference targets. */
export const compileOne = (document: MappingInput, others: MappingInput[] = []): CompiledMapping => {
  const registry = compileMappings([document, ...others].map((doc) => parseMapping(doc, 'test')));
  const compiled = registry.get(document.id);
  if (compiled === undefined) throw new Error('not compiled');
  return compiled;
};
