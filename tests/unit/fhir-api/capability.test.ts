import { validateFhirResource } from '../../../lib/fhir/validate';
import { buildCapabilityStatement } from '../../../lib/fhir-api/capability';

const TYPES = ['Patient', 'Observation', 'Encounter', 'Condition'];
const statement = buildCapabilityStatement({
  baseUrl: 'https://api.example.org/fhir',
  resourceTypes: TYPES,
  date: new Date('2026-11-22T23:00:00Z'),
});

type Rest = {
  mode: string;
  resource: {
    type: string;
    interaction: { code: string }[];
    searchParam: { name: string; type: string }[];
  }[];
};
const rest = (statement.rest as Rest[])[0] as Rest;
const paramsOf = (type: string) =>
  rest.resource
    .find((resource) => resource.type === type)
    ?.searchParam.map((param) => `${param.name}:${param.type}`);

describe('buildCapabilityStatement', () => {
  it('is a valid R4 CapabilityStatement of a server instance', () => {
    // The bundled HL7 schema is the 4.0.0 build, whose FHIRVersion codes predate 4.0.1 (R4's
    // technical correction, the version R4 servers state): that code is the one difference.
    expect(validateFhirResource(statement)).toEqual([
      { path: '/fhirVersion', message: expect.stringMatching(/^enum/) },
    ]);
    expect(validateFhirResource({ ...statement, fhirVersion: '4.0.0' })).toEqual([]);
    expect(statement).toMatchObject({
      status: 'active',
      kind: 'instance',
      fhirVersion: '4.0.1',
      date: '2026-11-22T23:00:00.000Z',
      implementation: { url: 'https://api.example.org/fhir' },
    });
    expect(statement.format).toContain('application/fhir+json');
  });

  it('lists exactly the served types, each with read and search-type', () => {
    expect(rest.mode).toBe('server');
    expect(rest.resource.map((resource) => resource.type)).toEqual([
      'Condition',
      'Encounter',
      'Observation',
      'Patient',
    ]);
    for (const resource of rest.resource) {
      expect(resource.interaction).toEqual([{ code: 'read' }, { code: 'search-type' }]);
    }
  });

  it('states the search parameters each type supports', () => {
    expect(paramsOf('Observation')).toEqual([
      '_id:token',
      'identifier:token',
      'patient:reference',
      'subject:reference',
      'code:token',
      'category:token',
      'date:date',
    ]);
    expect(paramsOf('Patient')).toEqual([
      '_id:token',
      'identifier:token',
      'gender:token',
      'birthdate:date',
      'date:date',
    ]);
    expect(paramsOf('Encounter')).toEqual([
      '_id:token',
      'identifier:token',
      'patient:reference',
      'subject:reference',
      'date:date',
    ]);
    expect(paramsOf('Condition')).toEqual([
      '_id:token',
      'identifier:token',
      'patient:reference',
      'subject:reference',
      'code:token',
      'category:token',
      'onset-date:date',
      'recorded-date:date',
      'date:date',
    ]);
  });
});
