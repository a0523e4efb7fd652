import { validateFhirResource } from '../../support/fhir-validator';

const VITALS = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';
const heartRate = () => ({
  resourceType: 'Observation',
  id: 'hr-1',
  meta: { profile: [VITALS] },
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2101-10-30T11:27:33Z',
  valueQuantity: { value: 80, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
});

const messages = (resource: unknown): string[] =>
  validateFhirResource(resource).map((issue) => `${issue.path} ${issue.message}`);

describe('validateFhirResource (test support)', () => {
  it('accepts a valid vital-signs Observation and a valid Patient', () => {
    expect(messages(heartRate())).toEqual([]);
    expect(
      messages({ resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '2050-01-01' }),
    ).toEqual([]);
  });

  it('reports R4 schema errors: unknown property, bad enum, bad date, unknown type', () => {
    expect(messages({ resourceType: 'Patient', nickname: 'x' }).join()).toContain('additionalProperties');
    expect(messages({ resourceType: 'Patient', gender: 'robot' }).join()).toContain('/gender');
    expect(messages({ resourceType: 'Patient', birthDate: '2050-13-01' }).join()).toContain('/birthDate');
    expect(messages({ resourceType: 'Patient', id: 'has space' }).join()).toContain('/id');
    expect(messages({ resourceType: 'Observation', status: 'final' }).join()).toContain('required');
    expect(messages({ resourceType: 'Patientz' })).toEqual([
      'resourceType unknown R4 resource type Patientz',
    ]);
    expect(messages('nope')).toEqual([' a resource is a JSON object']);
  });

  it('applies the vital-signs profile rules', () => {
    const without = (key: string) => {
      const resource: Record<string, unknown> = heartRate();
      delete resource[key];
      return resource;
    };
    expect(messages(without('category')).join()).toContain('VSCat');
    expect(messages(without('effectiveDateTime')).join()).toContain('effective[x] is required');
    expect(messages(without('valueQuantity')).join()).toContain('vs-2');
    expect(messages({ ...heartRate(), subject: { reference: 'Group/g' } }).join()).toContain(
      'subject must reference a Patient',
    );
    expect(
      messages({ ...heartRate(), code: { coding: [{ system: 'urn:local', code: '211' }] } }).join(),
    ).toContain('LOINC');
    expect(messages({ ...heartRate(), valueQuantity: { value: 80, unit: 'bpm' } }).join()).toContain(
      'Quantity.system must be UCUM',
    );
    expect(
      messages({
        ...heartRate(),
        valueQuantity: { unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      }).join(),
    ).toContain('Quantity.value is required');
    const panel = {
      ...without('valueQuantity'),
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
          valueQuantity: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
        },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] } },
      ],
    };
    expect(messages(panel)).toEqual(['component[1] vs-3: value[x] or dataAbsentReason is required']);
    expect(
      messages({
        ...heartRate(),
        valueQuantity: { value: 80, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      }).join(),
    ).toContain('LOINC 8867-4');
    expect(messages({ ...without('valueQuantity'), valueString: '80' }).join()).toContain(
      'value[x] must be a Quantity',
    );
    expect(messages({ ...without('valueQuantity'), dataAbsentReason: { text: 'unknown' } })).toEqual([]);
  });
});
