import { deriveResourceId, FHIR_ID_NAMESPACE, uuidV5 } from '../../../lib/fhir/ids';

describe('uuidV5', () => {
  it('matches the RFC 4122 reference value for the DNS namespace', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('derives the medstream namespace from the DNS namespace', () => {
    expect(uuidV5('fhir.medstream', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(FHIR_ID_NAMESPACE);
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(RangeError);
  });
});

describe('deriveResourceId', () => {
  it('is a version 5 UUID and a valid FHIR id, stable across calls', () => {
    const id = deriveResourceId('mimic-patient', 10006);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(deriveResourceId('mimic-patient', 10006)).toBe(id);
  });

  it('gives the same id for a key as number or text, and differs by mapping and key', () => {
    expect(deriveResourceId('mimic-patient', '10006')).toBe(deriveResourceId('mimic-patient', 10006));
    expect(deriveResourceId('mimic-patient', 10007)).not.toBe(deriveResourceId('mimic-patient', 10006));
    expect(deriveResourceId('mimic-condition', 10006)).not.toBe(deriveResourceId('mimic-patient', 10006));
  });
});
