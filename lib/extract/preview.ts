import { MedstreamError } from '../errors';
import {
  buildKeyQuery,
  type CompiledMapping,
  type FhirResource,
  groupRowsByKey,
  type SourceRow,
  TransformError,
  transformRows,
} from '../fhir';
import { buildOperationOutcome, type OperationOutcome } from '../fhir/validate';
import type { ClinicalSource } from './source';

/** What a preview shows: the source rows of one key, the resources they make, and their problems. */
export type Preview = {
  resource: string;
  key: string;
  rows: SourceRow[];
  resources: FhirResource[];
  outcome: OperationOutcome;
};

/** No resource of this mapping has the key (a 404 at the API; never retried). */
export class PreviewNotFoundError extends MedstreamError {
  constructor(readonly resource: string) {
    super(`${resource} has no source rows for this id`, { retryable: false });
  }
}

/**
 * Reads the rows of one key with the mapping's own SQL and transforms them, publishing nothing. A
 * row the mapping rejects is reported in the OperationOutcome (where and why, never the value),
 * since showing that is what a preview is for.
 */
export const previewResource = async (
  compiled: CompiledMapping,
  source: ClinicalSource,
  key: string,
  now: Date,
): Promise<Preview> => {
  const resource = compiled.mapping.id;
  const rows = await source.query(buildKeyQuery(compiled, key));
  if (rows.length === 0) throw new PreviewNotFoundError(resource);
  const resources: FhirResource[] = [];
  const rejected: OperationOutcome['issue'] = [];
  for (const group of groupRowsByKey(compiled, rows)) {
    try {
      resources.push(transformRows(compiled, group.rows, now));
    } catch (error) {
      if (!(error instanceof TransformError)) throw error;
      rejected.push({
        severity: 'error',
        code: 'processing',
        diagnostics: error.message,
        expression: [`${compiled.mapping.resourceType}.${error.failure.attribute}`],
      });
    }
  }
  const outcome = buildOperationOutcome(resources);
  if (rejected.length > 0) {
    const validity = outcome.issue.filter((issue) => issue.severity !== 'information');
    outcome.issue = [...rejected, ...validity];
  }
  return { resource, key, rows, resources, outcome };
};
