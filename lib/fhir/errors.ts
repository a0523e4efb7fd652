import { MedstreamError } from '../errors';

/** A mapping file that does not parse or does not hold together (never retried: fix the file). */
export class MappingError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** Where a transformation failed, without the value itself: patient values never reach an error. */
export type TransformFailure = {
  mapping: string;
  attribute: string;
  column: string | null;
  rule: string;
  valueType: string;
};

/**
 * A source row the mapping cannot turn into FHIR (a poison record: dead-letter it and go on). The
 * message names the mapping, attribute, column, rule and the value's type, never the value.
 */
export class TransformError extends MedstreamError {
  readonly failure: TransformFailure;

  constructor(failure: TransformFailure, options: { cause?: unknown } = {}) {
    super(
      `mapping ${failure.mapping}: attribute ${failure.attribute}: ` +
        `${failure.column === null ? 'static value' : `column ${failure.column}`}: ` +
        `rule ${failure.rule} rejected a value of type ${failure.valueType}`,
      { ...options, retryable: false },
    );
    this.failure = failure;
  }
}

/** The type of a value as errors may report it (`string`, `number`, `date`, `null`…). */
export const describeValueType = (value: unknown): string => {
  if (value === null) return 'null';
  if (value instanceof Date) return 'date';
  if (Array.isArray(value)) return 'array';
  return typeof value;
};

/** Thrown by cleaning and merging functions; the engine adds where it happened. */
export class RuleError extends Error {
  constructor(readonly valueType: string) {
    super(`rejected a value of type ${valueType}`);
    this.name = 'RuleError';
  }
}
