import {
  DEFAULT_COUNT,
  decodeCursor,
  encodeCursor,
  MAX_COUNT,
  parseSearchRequest,
  splitEscaped,
  unescapeSearchValue,
} from '../../../lib/fhir-api/search-plan';
import { BadRequestError } from '../../../lib/http/errors';
import { matchesFilter } from './match-filter';

const PATIENT = '0b6a4c3e-7f1d-5a2b-9c8d-1e2f3a4b5c6d';
const OTHER = '9f8e7d6c-5b4a-5392-8170-6f5e4d3c2b1a';

const observation = (overrides: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id: 'obs-1',
  subject: { reference: `Patient/${PATIENT}` },
  code: {
    coding: [
      { system: 'http://loinc.org', code: '8867-4' },
      { system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/chartevents-d-items', code: '220045' },
    ],
  },
  effectiveDateTime: '2101-10-30T11:27:33Z',
  ...overrides,
});

const plan = (type: string, query: string, lenient = false) => parseSearchRequest(type, query, { lenient });
const matches = (type: string, query: string, resource: unknown) =>
  matchesFilter(resource, plan(type, query).filter);

describe('parseSearchRequest', () => {
  it('matches everything with no parameters, 20 a page', () => {
    const request = plan('Observation', '');
    expect(request).toEqual({
      resourceType: 'Observation',
      filter: {},
      count: DEFAULT_COUNT,
      cursor: undefined,
      params: [],
    });
  });

  it('reads patient as Patient/<id>, <id> or an absolute URL, on the subject', () => {
    for (const value of [`Patient/${PATIENT}`, PATIENT, `https://fhir.example.org/fhir/Patient/${PATIENT}`]) {
      expect(plan('Observation', `patient=${encodeURIComponent(value)}`).filter).toEqual({
        'subject.reference': `Patient/${PATIENT}`,
      });
    }
    expect(matches('Condition', `patient=${PATIENT}`, observation())).toBe(true);
    expect(matches('Condition', `patient=${OTHER}`, observation())).toBe(false);
  });

  it('reads subject by any of its target types when the type is left out', () => {
    expect(plan('Encounter', `subject=${PATIENT}`).filter).toEqual({
      'subject.reference': { $in: [`Patient/${PATIENT}`, `Group/${PATIENT}`] },
    });
    expect(plan('Encounter', `subject=Group/${PATIENT}`).filter).toEqual({
      'subject.reference': `Group/${PATIENT}`,
    });
  });

  it.each([
    ['patient', `Group/${PATIENT}`, /refers to Patient/],
    ['patient', 'Patient/', /Type>\/<id>/],
    ['patient', 'Patient/a/b', /Type>\/<id>/],
    ['patient', 'not an id!', /Type>\/<id>/],
    ['subject', `Device/${PATIENT}`, /refers to Patient or Group/],
  ])('refuses %s=%s', (name, value, message) => {
    expect(() => plan('Encounter', `${name}=${encodeURIComponent(value)}`)).toThrow(message);
  });

  it('reads code as system|code, |code or code, on one coding', () => {
    expect(matches('Observation', 'code=http://loinc.org|8867-4', observation())).toBe(true);
    expect(matches('Observation', 'code=8867-4', observation())).toBe(true);
    expect(matches('Observation', 'code=220045', observation())).toBe(true);
    expect(matches('Observation', 'code=http://loinc.org|', observation())).toBe(true);
    // system and code must hold on the same coding
    expect(matches('Observation', 'code=http://loinc.org|220045', observation())).toBe(false);
    expect(matches('Observation', 'code=|8867-4', observation())).toBe(false);
    expect(
      matches('Observation', 'code=|8867-4', observation({ code: { coding: [{ code: '8867-4' }] } })),
    ).toBe(true);
    expect(plan('Observation', 'code=http://loinc.org|8867-4').filter).toEqual({
      'code.coding': { $elemMatch: { system: 'http://loinc.org', code: '8867-4' } },
    });
  });

  it('reads category as a token on any of the categories', () => {
    const categorised = observation({
      category: [
        { coding: [{ system: 'http://example.org/local', code: 'bedside' }] },
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
          ],
        },
      ],
    });
    expect(matches('Observation', 'category=vital-signs', categorised)).toBe(true);
    expect(
      matches(
        'Observation',
        'category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs',
        categorised,
      ),
    ).toBe(true);
    expect(matches('Observation', 'category=http://example.org/local|vital-signs', categorised)).toBe(false);
    expect(matches('Observation', 'category=laboratory', categorised)).toBe(false);
    expect(matches('Observation', 'category=vital-signs', observation())).toBe(false);
    expect(plan('Condition', 'category=encounter-diagnosis').filter).toEqual({
      'category.coding.code': 'encounter-diagnosis',
    });
  });

  it('reads gender as a code whose system is implicit', () => {
    const patient = { resourceType: 'Patient', id: PATIENT, gender: 'female' };
    const system = 'http://hl7.org/fhir/administrative-gender';
    expect(matches('Patient', 'gender=female', patient)).toBe(true);
    expect(matches('Patient', 'gender=male,female', patient)).toBe(true);
    expect(matches('Patient', 'gender=male', patient)).toBe(false);
    expect(matches('Patient', `gender=${system}|female`, patient)).toBe(true);
    expect(matches('Patient', `gender=${system}|`, patient)).toBe(true);
    expect(matches('Patient', `gender=${system}|`, { resourceType: 'Patient', id: OTHER })).toBe(false);
    // No system, or another one: a code of administrative-gender never matches.
    expect(matches('Patient', 'gender=|female', patient)).toBe(false);
    expect(matches('Patient', 'gender=http://example.org|female', patient)).toBe(false);
    expect(() => plan('Patient', 'gender=|')).toThrow(BadRequestError);
  });

  it('refuses a token with neither system nor code', () => {
    expect(() => plan('Observation', 'code=|')).toThrow(BadRequestError);
  });

  it('ORs comma-separated values and ANDs repeated parameters', () => {
    expect(matches('Observation', 'code=1234-5,8867-4', observation())).toBe(true);
    expect(matches('Observation', 'code=1234-5&code=8867-4', observation())).toBe(false);
    expect(matches('Observation', 'date=ge2101-10-01&date=lt2101-11', observation())).toBe(true);
    expect(matches('Observation', 'date=ge2101-10-31&date=lt2101-11', observation())).toBe(false);
    expect(matches('Observation', 'date=2101-10-29,2101-10-30', observation())).toBe(true);
  });

  it('keeps escaped commas and bars in a value (R4 escaping)', () => {
    expect(splitEscaped('a\\,b,c', ',')).toEqual(['a,b', 'c']);
    expect(splitEscaped('s\\|x|c\\,d', '|', 2)).toEqual(['s|x', 'c\\,d']);
    expect(unescapeSearchValue('c\\,d\\\\e')).toBe('c,d\\e');
    expect(plan('Observation', `code=${encodeURIComponent('urn:a\\|b|x\\,y')}`).filter).toEqual({
      'code.coding': { $elemMatch: { system: 'urn:a|b', code: 'x,y' } },
    });
  });

  it('searches each type on its own date element', () => {
    expect(matches('Patient', 'birthdate=2080-05', { birthDate: '2080-05-12' })).toBe(true);
    expect(matches('Patient', 'date=2080', { birthDate: '2080-05-12' })).toBe(true);
    const encounter = { period: { start: '2101-10-28T10:00:00Z', end: '2101-11-02T09:00:00Z' } };
    expect(matches('Encounter', 'date=ge2101-11-01', encounter)).toBe(true);
    expect(matches('Encounter', 'date=sa2101-11-01', encounter)).toBe(false);
    const condition = { recordedDate: '2101-11-02T09:00:00Z' };
    expect(matches('Condition', 'date=2101-11-02', condition)).toBe(true);
    expect(matches('Condition', 'recorded-date=2101-11-02', condition)).toBe(true);
    expect(matches('Condition', 'onset-date=2101-11-02', condition)).toBe(false);
    expect(
      matches('Observation', 'date=2101-10', { effectivePeriod: { start: '2101-10-30T11:00:00Z' } }),
    ).toBe(false);
    expect(
      matches('Observation', 'date=ge2101-10', { effectivePeriod: { start: '2101-10-30T11:00:00Z' } }),
    ).toBe(true);
  });

  it('searches _id by one or several ids', () => {
    expect(plan('Patient', `_id=${PATIENT},${OTHER}`).filter).toEqual({
      $or: [{ _id: PATIENT }, { _id: OTHER }],
    });
    expect(() => plan('Patient', '_id=a/b')).toThrow(/_id must be a FHIR id/);
  });

  it('reads _count: default 20, at most 1000, an integer', () => {
    expect(plan('Patient', '_count=5').count).toBe(5);
    expect(plan('Patient', '_count=0').count).toBe(0);
    expect(plan('Patient', '_count=5000').count).toBe(MAX_COUNT);
    for (const value of ['abc', '-1', '2.5', '', '1e3']) {
      expect(() => plan('Patient', `_count=${value}`)).toThrow(/_count must be an integer/);
    }
    expect(() => plan('Patient', '_count=1&_count=2')).toThrow(/once/);
  });

  it('refuses an unknown parameter, a modifier or a parameter of another type, naming the supported ones', () => {
    expect(() => plan('Observation', 'colour=red')).toThrow(
      /unknown search parameter for Observation; supported: _id/,
    );
    expect(() => plan('Observation', 'code:text=pulse')).toThrow(/modifiers are not supported/);
    expect(() => plan('Patient', `patient=${PATIENT}`)).toThrow(BadRequestError);
    expect(() => plan('Encounter', 'code=8867-4')).toThrow(BadRequestError);
    expect(() => plan('Observation', 'code=')).toThrow(/code has no value/);
  });

  it('ignores unknown and empty parameters when asked to be lenient, and leaves them out of the links', () => {
    const request = plan('Observation', `colour=red&code=&patient=${PATIENT}`, true);
    expect(request.params).toEqual([['patient', PATIENT]]);
    expect(() => plan('Observation', 'date=yesterday', true)).toThrow(BadRequestError);
  });

  it('reads an unencoded + of a zone offset (a space once decoded) as a +', () => {
    const request = plan('Observation', 'date=ge2101-10-30T10:00:00+02:00');
    expect(request.params).toEqual([['date', 'ge2101-10-30T10:00:00+02:00']]);
    expect(matchesFilter({ effectiveDateTime: '2101-10-30T08:00:00Z' }, request.filter)).toBe(true);
    expect(matchesFilter({ effectiveDateTime: '2101-10-30T07:59:59Z' }, request.filter)).toBe(false);
  });

  it('refuses a malformed date naming the parameter', () => {
    expect(() => plan('Observation', 'date=xx2020')).toThrow(/^date must be/);
    expect(() => plan('Patient', 'birthdate=2020-13')).toThrow(/birthdate is not a valid calendar date/);
  });

  it('accepts _format=json and nothing else', () => {
    expect(plan('Patient', '_format=json').params).toEqual([]);
    expect(() => plan('Patient', '_format=xml')).toThrow(/only json/);
  });

  it('gives every other type _id alone', () => {
    expect(plan('MedicationRequest', '_id=x').filter).toEqual({ _id: 'x' });
    expect(() => plan('MedicationRequest', 'patient=x')).toThrow(/supported: _id, _count, _cursor/);
  });
});

describe('cursors', () => {
  it('round-trips through an opaque string', () => {
    for (const cursor of [{ after: PATIENT }, { before: PATIENT }, { before: PATIENT, inclusive: true }]) {
      const encoded = encodeCursor(cursor);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(encoded)).toEqual(cursor);
      expect(plan('Patient', `_cursor=${encoded}`).cursor).toEqual(cursor);
    }
  });

  it('refuses a cursor it did not issue', () => {
    const forged = Buffer.from(JSON.stringify({ a: { $gt: '' } })).toString('base64url');
    for (const value of ['abc', forged, Buffer.from('{"a":"x","z":1}').toString('base64url')]) {
      expect(() => decodeCursor(value)).toThrow(/not a cursor this server issued/);
    }
  });
});
