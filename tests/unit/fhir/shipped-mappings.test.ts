import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateClinicalDataset } from '../../../lib/clinical/generate';
import { compileMappings } from '../../../lib/fhir/compile';
import { parseMapping } from '../../../lib/fhir/mapping-files';
import { selectRowsInMemory } from '../../../lib/fhir/memory-source';
import { groupRowsByKey } from '../../../lib/fhir/rows';
import { type FhirResource, transformRows } from '../../../lib/fhir/transform';
import { createSeededRandom } from '../../../lib/random';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { listFhirProblems } from '../../support/fhir-validator';

const DIRECTORY = join(__dirname, '../../../connectors/mappings');
const NOW = new Date('2026-11-22T23:00:00.000Z');

describe('connectors/mappings', () => {
  const files = readdirSync(DIRECTORY).filter((name) => name.endsWith('.json'));

  it('holds the shipped mappings', () => {
    expect(files.sort()).toEqual([
      'mimic-condition.json',
      'mimic-encounter-admission.json',
      'mimic-encounter-icu.json',
      'mimic-observation-laboratory-by-mrn.json',
      'mimic-observation-laboratory.json',
      'mimic-observation-vital-signs.json',
      'mimic-patient.json',
    ]);
  });

  it.each(files)('%s parses under the strict schema, its id matching its file name', (file) => {
    const mapping = parseMapping(JSON.parse(readFileSync(join(DIRECTORY, file), 'utf8')), file);
    expect(`${mapping.id}.json`).toBe(file);
  });

  it('compiles as a set: every reference targets a shipped mapping', () => {
    expect([...loadShippedMappings().keys()].sort()).toEqual(
      files.map((file) => file.replace('.json', '')).sort(),
    );
  });
});

describe('resources from generated MIMIC rows', () => {
  const dataset = generateClinicalDataset({ patients: 40 }, createSeededRandom(2026));
  const registry = loadShippedMappings();
  const produced = new Map<string, FhirResource[]>();
  for (const [id, compiled] of registry) {
    const rows = selectRowsInMemory(compiled, dataset);
    produced.set(
      id,
      groupRowsByKey(compiled, rows).map((group) => transformRows(compiled, group.rows, NOW)),
    );
  }
  const all = [...produced.values()].flat();
  const byReference = new Set(all.map((resource) => `${resource.resourceType}/${resource.id}`));

  it.each([...registry.keys()])(
    '%s: every resource is valid FHIR R4 (and vital-signs where profiled)',
    (id) => {
      const resources = produced.get(id) ?? [];
      expect(resources.length).toBeGreaterThan(0);
      expect(listFhirProblems(resources)).toEqual([]);
    },
  );

  it('makes one resource per source key, with unique ids', () => {
    expect(produced.get('mimic-patient')).toHaveLength(dataset.patients.length);
    expect(produced.get('mimic-encounter-admission')).toHaveLength(dataset.admissions.length);
    expect(produced.get('mimic-encounter-icu')).toHaveLength(dataset.icustays.length);
    expect(produced.get('mimic-observation-vital-signs')).toHaveLength(dataset.chartevents.length);
    expect(produced.get('mimic-observation-laboratory')).toHaveLength(dataset.labevents.length);
    expect(produced.get('mimic-condition')).toHaveLength(dataset.diagnoses_icd.length);
    expect(byReference.size).toBe(all.length);
  });

  it('resolves every reference to a resource the mappings produce', () => {
    const dangling: string[] = [];
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) {
          if (key === 'reference' && typeof item === 'string' && !byReference.has(item)) dangling.push(item);
          else visit(item);
        }
      }
    };
    all.forEach(visit);
    expect(dangling).toEqual([]);
  });

  it('links ICU stays to their admission and ranks admission diagnoses', () => {
    const admissions = produced.get('mimic-encounter-admission') ?? [];
    const stay = (produced.get('mimic-encounter-icu') ?? [])[0];
    expect(
      admissions.some(
        (admission) => `Encounter/${admission.id}` === (stay?.partOf as { reference?: string })?.reference,
      ),
    ).toBe(true);
    const diagnosis = admissions[0]?.diagnosis as { rank: number }[];
    expect(diagnosis.map((entry) => entry.rank)).toEqual(diagnosis.map((_, index) => index + 1));
  });

  it('codes vitals with LOINC and UCUM, and marks charting errors', () => {
    const vitals = produced.get('mimic-observation-vital-signs') ?? [];
    const codes = new Set(
      vitals.map((vital) => (vital.code as { coding: { code: string }[] }).coding[0]?.code),
    );
    expect([...codes].sort()).toEqual(['2708-6', '8310-5', '8462-4', '8480-6', '8867-4', '9279-1']);
    expect(vitals.some((vital) => vital.status === 'entered-in-error')).toBe(true);
    expect(vitals.some((vital) => vital.dataAbsentReason !== undefined)).toBe(true);
  });

  it('writes ICD-9-CM codes with their dot', () => {
    const codes = (produced.get('mimic-condition') ?? []).map(
      (condition) => (condition.code as { coding: { code: string; system: string }[] }).coding[0],
    );
    expect(
      codes.every(
        (coding) =>
          coding?.system === 'http://hl7.org/fhir/sid/icd-9-cm' &&
          /^[\dVE]\d{2,3}(\.\d{1,2})?$/.test(coding.code),
      ),
    ).toBe(true);
  });

  it('gives the same resources for the same rows and time (pure)', () => {
    const compiled = registry.get('mimic-patient');
    if (compiled === undefined) throw new Error('missing');
    const rows = selectRowsInMemory(compiled, dataset);
    expect(groupRowsByKey(compiled, rows).map((group) => transformRows(compiled, group.rows, NOW))).toEqual(
      produced.get('mimic-patient'),
    );
  });
});

describe('compileMappings over the shipped set', () => {
  it('rejects the set when a referenced mapping is missing', () => {
    const files = readdirSync(DIRECTORY).filter(
      (name) => name.endsWith('.json') && name !== 'mimic-patient.json',
    );
    const mappings = files.map((file) =>
      parseMapping(JSON.parse(readFileSync(join(DIRECTORY, file), 'utf8')), file),
    );
    expect(() => compileMappings(mappings)).toThrow('reference to unknown mapping mimic-patient');
  });
});
