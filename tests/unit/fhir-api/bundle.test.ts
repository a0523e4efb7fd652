import { validateFhirResource } from '../../../lib/fhir/validate';
import { buildSearchBundle, buildSearchUrl } from '../../../lib/fhir-api/bundle';
import { decodeCursor, parseSearchRequest } from '../../../lib/fhir-api/search-plan';

const BASE = 'https://api.example.org/fhir';
const patient = (id: string) => ({ resourceType: 'Patient', id, gender: 'female', birthDate: '2080-05-12' });

const cursorOf = (url: string | undefined) => {
  const value = new URL(url ?? '').searchParams.get('_cursor');
  return value === null ? null : decodeCursor(value);
};

describe('buildSearchUrl', () => {
  it('keeps the accepted parameters in order, states _count, and adds the cursor', () => {
    const request = parseSearchRequest(
      'Observation',
      'patient=p1&code=http://loinc.org|8867-4&date=ge2101&date=lt2102',
    );
    const url = new URL(buildSearchUrl(BASE, request, { after: 'o-9' }));
    expect(`${url.origin}${url.pathname}`).toBe(`${BASE}/Observation`);
    expect([...url.searchParams]).toEqual([
      ['patient', 'p1'],
      ['code', 'http://loinc.org|8867-4'],
      ['date', 'ge2101'],
      ['date', 'lt2102'],
      ['_count', '20'],
      ['_cursor', expect.any(String)],
    ]);
    expect(cursorOf(url.toString())).toEqual({ after: 'o-9' });
  });

  it('parses back into the same search', () => {
    const request = parseSearchRequest('Observation', 'code=a%5C%2Cb&_count=7');
    const url = new URL(buildSearchUrl(BASE, request, null));
    expect(parseSearchRequest('Observation', url.search.slice(1))).toEqual(request);
  });
});

describe('buildSearchBundle', () => {
  const request = parseSearchRequest('Patient', 'birthdate=2080&_count=2');

  it('builds a valid R4 searchset with total, full URLs, match entries and the links given', () => {
    const bundle = buildSearchBundle(BASE, request, {
      total: 5,
      resources: [patient('a'), patient('b')],
      next: { after: 'b' },
      previous: undefined,
    });
    expect(validateFhirResource(bundle)).toEqual([]);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 5 });
    expect(bundle.entry).toEqual([
      { fullUrl: `${BASE}/Patient/a`, resource: patient('a'), search: { mode: 'match' } },
      { fullUrl: `${BASE}/Patient/b`, resource: patient('b'), search: { mode: 'match' } },
    ]);
    expect(bundle.link.map((link) => link.relation)).toEqual(['self', 'next']);
    expect(bundle.link[0]?.url).toBe(`${BASE}/Patient?birthdate=2080&_count=2`);
    expect(cursorOf(bundle.link[1]?.url)).toEqual({ after: 'b' });
  });

  it('links previous, to the first page when its cursor is null', () => {
    const bundle = buildSearchBundle(BASE, request, {
      total: 5,
      resources: [],
      next: null,
      previous: { before: 'c' },
    });
    expect(bundle.link.map((link) => [link.relation, cursorOf(link.url)])).toEqual([
      ['self', null],
      ['next', null],
      ['previous', { before: 'c' }],
    ]);
  });

  it('has no entry array on an empty page (FHIR JSON has no empty arrays)', () => {
    const bundle = buildSearchBundle(BASE, request, {
      total: 0,
      resources: [],
      next: undefined,
      previous: undefined,
    });
    expect(bundle).not.toHaveProperty('entry');
    expect(validateFhirResource(bundle)).toEqual([]);
  });
});
