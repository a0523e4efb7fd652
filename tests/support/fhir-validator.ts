// The validator moved to lib/fhir/validate.ts (the extract preview uses it at runtime); existing
// tests keep importing it from here.
export { listFhirProblems, type ValidationIssue, validateFhirResource } from '../../lib/fhir/validate';
