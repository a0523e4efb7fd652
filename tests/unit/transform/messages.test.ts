import { ParseError } from '../../../lib/errors';
import { createTopicNames, parseFhirResource, parseRawResourceRows } from '../../../lib/transform/messages';

describe('topic names', () => {
  it('names raw topics by mapping and FHIR topics by type, after a prefix', () => {
    expect(createTopicNames().raw('mimic-patient')).toBe('raw.mimic-patient');
    expect(createTopicNames('it-1.').fhir('Observation')).toBe('it-1.fhir.Observation');
  });
});

describe('parseRawResourceRows', () => {
  it('reads mapping, key and rows', () => {
    const value = { mapping: 'mimic-patient', key: 3, rows: [{ 'patients.subject_id': 3 }] };
    expect(parseRawResourceRows(value)).toEqual(value);
  });

  it.each([
    [{ mapping: 'm', key: 1, rows: [] }],
    [{ mapping: 'm', rows: [{}] }],
    [{ mapping: 'm', key: 1, rows: [{}], extra: 'Jane Doe' }],
    [['Jane Doe']],
    ['Jane Doe'],
  ])('refuses %j as a non-retryable parse error that quotes no value', (value) => {
    let thrown: unknown;
    try {
      parseRawResourceRows(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ParseError);
    expect((thrown as Error).message).not.toContain('Jane');
  });
});

describe('parseFhirResource', () => {
  it('accepts a resource with a type and an id', () => {
    const resource = { resourceType: 'Patient', id: 'a-1', meta: {} };
    expect(parseFhirResource(resource)).toBe(resource);
  });

  it.each([
    [null],
    [[]],
    [{ id: 'a' }],
    [{ resourceType: 'patient', id: 'a' }],
    [{ resourceType: 'Patient', id: 'a b' }],
  ])('refuses %j', (value) => {
    expect(() => parseFhirResource(value)).toThrow(ParseError);
  });
});
