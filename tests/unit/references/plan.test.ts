import type { FhirResource } from '../../../lib/fhir';
import {
  applyReferences,
  findUnboundReferences,
  identifierLookupFilter,
  identifiersOf,
  planBindingUpdate,
  planPendingReferences,
  planTargetBindings,
  resolveTargets,
} from '../../../lib/references/plan';

const MRN = 'http://mimic.mit.edu/fhir/mimic/identifier/patient';
const meta = { lastUpdated: '2026-11-22T23:00:00.000Z', tag: [] };

const observation = (overrides: Record<string, unknown> = {}): FhirResource => ({
  resourceType: 'Observation',
  id: 'obs-1',
  meta,
  identifier: [{ system: 'lab', value: '7', type: { text: 'accession' } }],
  subject: { type: 'Patient', identifier: { system: MRN, value: '42' } },
  performer: [
    { reference: 'Practitioner/p1' },
    { type: 'Practitioner', identifier: { system: 'npi', value: '9' } },
  ],
  ...overrides,
});

describe('findUnboundReferences', () => {
  it('finds logical references (type + identifier, no reference) at their dot paths', () => {
    expect(findUnboundReferences(observation())).toEqual([
      { path: 'subject', targetType: 'Patient', system: MRN, value: '42' },
      { path: 'performer.1', targetType: 'Practitioner', system: 'npi', value: '9' },
    ]);
  });

  it('skips bound references, the resource own identifiers and references without a type', () => {
    const resource = observation({
      subject: { reference: 'Patient/x', type: 'Patient', identifier: { system: MRN, value: '42' } },
      performer: [{ identifier: { system: 'npi', value: '9' } }],
    });
    expect(findUnboundReferences(resource)).toEqual([]);
  });
});

describe('identifierLookupFilter', () => {
  const reference = (system: string, value: string) => ({
    path: 'subject',
    targetType: 'Patient',
    system,
    value,
  });

  it('asks for the values of one system with one $in (no $or of a clause per reference)', () => {
    expect(
      identifierLookupFilter([reference('mrn', '7'), reference('mrn', '8'), reference('mrn', '7')]),
    ).toEqual({
      'identifier.system': 'mrn',
      'identifier.value': { $in: ['7', '8'] },
    });
  });

  it('ORs one clause per system', () => {
    expect(identifierLookupFilter([reference('mrn', '7'), reference('ssn', '7')])).toEqual({
      $or: [
        { 'identifier.system': 'mrn', 'identifier.value': { $in: ['7'] } },
        { 'identifier.system': 'ssn', 'identifier.value': { $in: ['7'] } },
      ],
    });
  });
});

describe('resolveTargets', () => {
  it('resolves an identifier only on a system and value of one element, the smallest id on a tie', () => {
    const resolved = resolveTargets(
      [
        { id: 'b', identifier: [{ system: MRN, value: '42' }] },
        { id: 'a', identifier: [{ system: MRN, value: '42' }] },
        {
          id: 'c',
          identifier: [
            { system: 'other', value: '43' },
            { system: MRN, value: '44' },
          ],
        },
      ],
      'Patient',
    );
    expect(resolved.get(`${MRN}|42`)).toBe('Patient/a');
    expect(resolved.get(`${MRN}|43`)).toBeUndefined();
    expect(resolved.get(`${MRN}|44`)).toBe('Patient/c');
  });
});

describe('applyReferences', () => {
  it('sets reference beside the identifier on a copy, leaving the input untouched', () => {
    const resource = observation();
    const references = findUnboundReferences(resource);
    const bound = applyReferences(resource, references, (type, key) =>
      type === 'Patient' && key === `${MRN}|42` ? 'Patient/p-42' : undefined,
    );
    expect(bound.subject).toEqual({
      type: 'Patient',
      identifier: { system: MRN, value: '42' },
      reference: 'Patient/p-42',
    });
    expect((bound.performer as unknown[])[1]).not.toHaveProperty('reference');
    expect(resource.subject).not.toHaveProperty('reference');
  });
});

describe('pending and target-side plans', () => {
  it('plans a pending entry per unbound slot and binds it when its target is written', () => {
    const resource = observation();
    const pending = planPendingReferences('Observation', resource, findUnboundReferences(resource));
    expect(pending[0]).toEqual({
      _id: 'Observation/obs-1#subject',
      sourceType: 'Observation',
      sourceId: 'obs-1',
      path: 'subject',
      targetType: 'Patient',
      system: MRN,
      value: '42',
      key: `${MRN}|42`,
    });
    const bindings = planTargetBindings(pending, 'Patient', [
      { id: 'p-42', identifier: [{ system: MRN, value: '42' }] },
    ]);
    expect(bindings).toEqual([
      {
        sourceType: 'Observation',
        sourceId: 'obs-1',
        path: 'subject',
        system: MRN,
        value: '42',
        reference: 'Patient/p-42',
      },
    ]);
  });

  it('guards a binding update: same identifier, no reference yet', () => {
    expect(
      planBindingUpdate({
        sourceType: 'Observation',
        sourceId: 'obs-1',
        path: 'performer.1',
        system: 'npi',
        value: '9',
        reference: 'Practitioner/x',
      }),
    ).toEqual({
      filter: {
        _id: 'obs-1',
        'performer.1.identifier.system': 'npi',
        'performer.1.identifier.value': '9',
        'performer.1.reference': { $exists: false },
      },
      update: { $set: { 'performer.1.reference': 'Practitioner/x' } },
    });
  });

  it('reads a resource own identifiers', () => {
    expect(identifiersOf(observation())).toEqual([{ system: 'lab', value: '7' }]);
  });
});
