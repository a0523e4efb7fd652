import { buildOperationOutcome } from '../../../lib/fhir/validate';

describe('buildOperationOutcome', () => {
  it('says so with one informational issue when every resource is valid', () => {
    const outcome = buildOperationOutcome([{ resourceType: 'Patient', id: 'p1', gender: 'female' }]);
    expect(outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'information',
          code: 'informational',
          diagnostics: '1 resource(s) valid against FHIR R4',
        },
      ],
    });
  });

  it('lists each problem as an error with a FHIRPath-like expression, never the value', () => {
    const outcome = buildOperationOutcome([
      { resourceType: 'Patient', id: 'p1', gender: 'sometimes', birthDate: 42 },
    ]);
    expect(outcome.issue.length).toBeGreaterThan(0);
    for (const issue of outcome.issue) {
      expect(issue).toMatchObject({ severity: 'error', code: 'structure' });
      expect(issue.diagnostics.startsWith('Patient/p1: ')).toBe(true);
      expect(issue.diagnostics).not.toContain('sometimes');
      expect(issue.expression?.[0]).toMatch(/^Patient(\.|$)/);
    }
    expect(outcome.issue.map((issue) => issue.expression?.[0])).toEqual(
      expect.arrayContaining(['Patient.gender', 'Patient.birthDate']),
    );
  });

  it('flags vital-signs profile rules as invariants', () => {
    const outcome = buildOperationOutcome([
      {
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        meta: { profile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'] },
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      },
    ]);
    expect(outcome.issue).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'invariant' })]));
  });
});
