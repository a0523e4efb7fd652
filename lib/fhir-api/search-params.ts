import type { DateTarget } from './dates';

/** One search parameter a resource type supports, with where its values live in the resource. */
export type SearchParamDefinition = { name: string; documentation: string; definition?: string } & (
  | { type: 'id' }
  | { type: 'reference'; path: string; targetTypes: readonly string[] }
  | { type: 'token'; path: string; element: 'coding' | 'identifier' }
  // A plain `code` element: its system is implicit (the code system of its required value set).
  | { type: 'token'; path: string; element: 'code'; system: string }
  | { type: 'date'; targets: readonly DateTarget[] }
);

const R4 = 'http://hl7.org/fhir/SearchParameter';

const id: SearchParamDefinition = {
  name: '_id',
  type: 'id',
  definition: `${R4}/Resource-id`,
  documentation: 'The logical id; comma-separated ids match any.',
};

const patient: SearchParamDefinition = {
  name: 'patient',
  type: 'reference',
  path: 'subject.reference',
  targetTypes: ['Patient'],
  definition: `${R4}/clinical-patient`,
  documentation: 'The subject when it is a Patient: Patient/<id> or <id>.',
};

const subject = (resourceType: string, targetTypes: readonly string[]): SearchParamDefinition => ({
  name: 'subject',
  type: 'reference',
  path: 'subject.reference',
  targetTypes,
  definition: `${R4}/${resourceType}-subject`,
  documentation: `The subject: <Type>/<id> (${targetTypes.join(', ')}) or <id>.`,
});

/** A token on a CodeableConcept's codings (`<element>.coding`), named after the element. */
const codingToken = (
  element: 'code' | 'category',
  definition: string,
  what: string,
): SearchParamDefinition => ({
  name: element,
  type: 'token',
  path: `${element}.coding`,
  element: 'coding',
  definition: `${R4}/${definition}`,
  documentation: `A coding of ${what}: system|code, |code (no system) or code (any system).`,
});

const code = codingToken('code', 'clinical-code', 'the code');
const category = (definition: string) => codingToken('category', definition, 'a category');

const gender: SearchParamDefinition = {
  name: 'gender',
  type: 'token',
  path: 'gender',
  element: 'code',
  system: 'http://hl7.org/fhir/administrative-gender',
  definition: `${R4}/individual-gender`,
  documentation: 'Patient.gender: male, female, other or unknown (system|code with its own system).',
};

const identifier = (definition: string): SearchParamDefinition => ({
  name: 'identifier',
  type: 'token',
  path: 'identifier',
  element: 'identifier',
  definition: `${R4}/${definition}`,
  documentation: 'An identifier: system|value, |value (no system) or value (any system).',
});

const date = (
  targets: readonly DateTarget[],
  documentation: string,
  definition?: string,
  name = 'date',
): SearchParamDefinition => ({
  name,
  type: 'date',
  targets,
  documentation: `${documentation}, with the prefixes eq, ne, gt, lt, ge, le, sa, eb; repeat for a range.`,
  ...(definition === undefined ? {} : { definition: `${R4}/${definition}` }),
});

const value = (path: string): DateTarget => ({ kind: 'value', path });
const period = (path: string): DateTarget => ({ kind: 'period', start: `${path}.start`, end: `${path}.end` });

const observationEffective = [
  value('effectiveDateTime'),
  period('effectivePeriod'),
  value('effectiveInstant'),
];
const conditionOnset = [value('onsetDateTime'), period('onsetPeriod')];

/**
 * The search parameters of each resource type the pipeline loads (`connectors/mappings`). A type
 * the registry gains without an entry here is still readable and searchable by `_id`.
 */
export const SEARCH_PARAMS: Readonly<Record<string, readonly SearchParamDefinition[]>> = {
  Patient: [
    id,
    identifier('Patient-identifier'),
    gender,
    date([value('birthDate')], 'Patient.birthDate', 'individual-birthdate', 'birthdate'),
    date([value('birthDate')], 'Patient.birthDate (as birthdate)'),
  ],
  Encounter: [
    id,
    identifier('clinical-identifier'),
    patient,
    subject('Encounter', ['Patient', 'Group']),
    date([period('period')], 'Encounter.period', 'clinical-date'),
  ],
  Observation: [
    id,
    identifier('clinical-identifier'),
    patient,
    subject('Observation', ['Patient', 'Group', 'Device', 'Location']),
    code,
    category('Observation-category'),
    date(observationEffective, 'Observation.effective[x] (dateTime, Period or instant)', 'clinical-date'),
  ],
  Condition: [
    id,
    identifier('clinical-identifier'),
    patient,
    subject('Condition', ['Patient', 'Group']),
    code,
    category('Condition-category'),
    date(conditionOnset, 'Condition.onset[x] (dateTime or Period)', 'Condition-onset-date', 'onset-date'),
    date([value('recordedDate')], 'Condition.recordedDate', 'Condition-recorded-date', 'recorded-date'),
    date(
      [...conditionOnset, value('recordedDate')],
      'Condition.onset[x] or Condition.recordedDate (either matches)',
    ),
  ],
};

/** The parameters of a supported type: its own, or `_id` alone for a type without an entry. */
export const searchParamsOf = (resourceType: string): readonly SearchParamDefinition[] =>
  SEARCH_PARAMS[resourceType] ?? [id];
