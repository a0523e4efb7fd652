/**
 * Error classes carry one decision: may a retry succeed? Non-retryable errors (bad schema, poison
 * record) dead-letter the record and let the batch go on; retryable ones (a database outage) fail
 * the batch so the offsets are not committed and the records are delivered again.
 */
export class MedstreamError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** A value that cannot be parsed into a domain type where it enters (never retried). */
export class ParseError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** Configuration that is missing or invalid: fails fast at cold start. */
export class ConfigError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** A schema the registry does not know, or one a sink cannot apply (never retried). */
export class SchemaError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** A dependency (database, broker, registry) is unreachable or failing: retry the batch. */
export class UnavailableError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** Decides the policy for any thrown value: unknown errors are treated as retryable (nothing lost). */
export const isRetryable = (error: unknown): boolean =>
  error instanceof MedstreamError ? error.retryable : true;

/** A short, value-free description of an error for DLQ records and logs. */
export const describeError = (error: unknown): { type: string; message: string } =>
  error instanceof Error
    ? { type: error.name, message: error.message }
    : { type: 'Error', message: String(error) };

/**
 * An error's message and, after a colon, its innermost cause's: the one-line report of a command
 * ("could not register a schema for subject x: connect ECONNREFUSED 127.0.0.1:8081").
 */
export const messageWithCause = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  let root: unknown = error;
  for (let depth = 0; depth < 10 && root instanceof Error && root.cause !== undefined; depth += 1)
    root = root.cause;
  if (root === error) return message;
  const rootMessage = root instanceof Error ? root.message : String(root);
  return rootMessage === '' || message.includes(rootMessage) ? message : `${message}: ${rootMessage}`;
};
