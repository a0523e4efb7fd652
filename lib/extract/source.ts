import { MedstreamError } from '../errors';
import type { SourceRow, SqlQuery } from '../fhir';

/** The port extract needs of the clinical database: run a generated query, get its rows. */
export type ClinicalSource = {
  query(query: SqlQuery): Promise<SourceRow[]>;
};

/**
 * The source refused a bound value (a key that does not fit the key column's type): the caller's
 * input, not an outage. Never retried.
 */
export class SourceInputError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** The source rejected a generated query (a mapping that does not match the schema): never retried. */
export class SourceQueryError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}
