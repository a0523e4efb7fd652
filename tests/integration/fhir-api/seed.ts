import { randomUUID } from 'node:crypto';
import type { FhirResource } from '../../../lib/fhir-api/bundle';

/**
 * Hand-built R4 resources shaped like the mappings' output (connectors/mappings): references are
 * `Patient/<uuid>`, codes are LOINC / ICD-9-CM codings, dates are UTC at second precision.
 * Dates and codes are chosen around the boundaries the search tests cross.
 */
export const LOINC = 'http://loinc.org';
export const ICD9 = 'http://hl7.org/fhir/sid/icd-9-cm';
export const MIMIC_ITEMS = 'http://mimic.mit.edu/fhir/mimic/CodeSystem/chartevents-d-items';
const META = {
  lastUpdated: '2026-11-22T23:00:00Z',
  tag: [{ system: 'urn:medstream:fhir:source', code: 'it' }],
};

export const patient = (birthDate: string, mrn: string, gender = 'female'): FhirResource => ({
  resourceType: 'Patient',
  id: randomUUID(),
  meta: META,
  identifier: [{ system: 'http://mimic.mit.edu/fhir/mimic/identifier/patient', value: mrn }],
  gender,
  birthDate,
});

export const heartRate = (subject: FhirResource, effectiveDateTime: string, value: number): FhirResource => ({
  resourceType: 'Observation',
  id: randomUUID(),
  meta: { ...META, profile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'] },
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: {
    coding: [
      { system: LOINC, code: '8867-4', display: 'Heart rate' },
      { system: MIMIC_ITEMS, code: '220045' },
    ],
    text: 'Heart Rate',
  },
  subject: { reference: `Patient/${subject.id}` },
  effectiveDateTime,
  valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});

export const glucose = (subject: FhirResource, effectiveDateTime: string): FhirResource => ({
  resourceType: 'Observation',
  id: randomUUID(),
  meta: META,
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: LOINC, code: '2345-7' }], text: 'Glucose' },
  subject: { reference: `Patient/${subject.id}` },
  effectiveDateTime,
  valueQuantity: { value: 104, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
});

export const encounter = (subject: FhirResource, start: string, end?: string): FhirResource => ({
  resourceType: 'Encounter',
  id: randomUUID(),
  meta: META,
  status: end === undefined ? 'in-progress' : 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: `Patient/${subject.id}` },
  period: end === undefined ? { start } : { start, end },
});

export const condition = (subject: FhirResource, icd9: string, recordedDate: string): FhirResource => ({
  resourceType: 'Condition',
  id: randomUUID(),
  meta: META,
  category: [
    {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' },
      ],
    },
  ],
  code: { coding: [{ system: ICD9, code: icd9 }] },
  subject: { reference: `Patient/${subject.id}` },
  recordedDate,
});

/** `2101-10-<day>T<hour>:00:00Z` */
export const at = (day: number, hour = 8): string =>
  `2101-10-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;
