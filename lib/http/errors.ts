import { MedstreamError } from '../errors';

/**
 * A request the caller got wrong, answered with a 4xx and this message. Messages are written for
 * the caller: they name the parameter or resource, never a value from a database or a stack.
 */
export class RequestError extends MedstreamError {
  readonly statusCode: number;

  constructor(statusCode: number, message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
    if (statusCode < 400 || statusCode > 499) throw new RangeError('a RequestError is a 4xx');
    this.statusCode = statusCode;
  }
}

/** 400: a malformed parameter or body. */
export class BadRequestError extends RequestError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(400, message, options);
  }
}

/** 404: no such resource (an unknown mapping, a key the source does not have). */
export class NotFoundError extends RequestError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(404, message, options);
  }
}
