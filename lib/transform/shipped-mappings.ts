import condition from '../../connectors/mappings/mimic-condition.json';
import encounterAdmission from '../../connectors/mappings/mimic-encounter-admission.json';
import encounterIcu from '../../connectors/mappings/mimic-encounter-icu.json';
import observationLaboratory from '../../connectors/mappings/mimic-observation-laboratory.json';
import observationLaboratoryByMrn from '../../connectors/mappings/mimic-observation-laboratory-by-mrn.json';
import observationVitalSigns from '../../connectors/mappings/mimic-observation-vital-signs.json';
import patient from '../../connectors/mappings/mimic-patient.json';
import { compileMappings, type MappingRegistry, parseMapping } from '../fhir';

/**
 * The mapping files of `connectors/mappings/`, imported so the bundler ships them inside each
 * function (a Lambda package has no connectors directory to read at run time). A unit test checks
 * this list against the directory.
 */
export const SHIPPED_MAPPING_FILES: Readonly<Record<string, unknown>> = {
  'mimic-condition.json': condition,
  'mimic-encounter-admission.json': encounterAdmission,
  'mimic-encounter-icu.json': encounterIcu,
  'mimic-observation-laboratory.json': observationLaboratory,
  'mimic-observation-laboratory-by-mrn.json': observationLaboratoryByMrn,
  'mimic-observation-vital-signs.json': observationVitalSigns,
  'mimic-patient.json': patient,
};

/** Parses and compiles the shipped mappings (once, at cold start). */
export const loadShippedMappings = (): MappingRegistry =>
  compileMappings(
    Object.entries(SHIPPED_MAPPING_FILES)
      .sort(([left], [right]) => left.localeCompare(right))
      .map(([name, document]) => parseMapping(document, name)),
  );
