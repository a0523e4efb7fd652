import { STATUS_CODES } from 'node:http';
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describeError, MedstreamError } from '../errors';
import { logger } from '../logger';
import { RequestError } from './errors';
import { jsonResponse } from './response';

/** What a client sees of an error: the status and a message safe to show. */
export type HttpProblem = { statusCode: number; message: string };

/** Renders a problem as a response body: `{ message }` by default, an OperationOutcome for FHIR APIs. */
export type ProblemRenderer = (problem: HttpProblem) => unknown;

/** `{ "error": "Not Found", "message": "…" }`. */
export const renderJsonProblem: ProblemRenderer = ({ statusCode, message }) => ({
  error: STATUS_CODES[statusCode] ?? (statusCode < 500 ? 'Client Error' : 'Server Error'),
  message,
});

/** A FHIR R4 OperationOutcome, for endpoints that speak FHIR (`GET /fhir/...`). */
export const renderOperationOutcome: ProblemRenderer = ({ statusCode, message }) => ({
  resourceType: 'OperationOutcome',
  issue: [
    {
      severity: 'error',
      code:
        statusCode === 404
          ? 'not-found'
          : statusCode < 500
            ? 'invalid'
            : statusCode === 503
              ? 'transient'
              : 'exception',
      diagnostics: message,
    },
  ],
});

/**
 * The one mapping of errors to HTTP responses: a RequestError is its 4xx with its message; a
 * retryable MedstreamError (a source or broker outage) is a 503 with Retry-After; anything else is
 * a generic 500. No raw error, stack or SQL text ever reaches the body; 5xx are logged by type and
 * message only (driver messages may quote values).
 */
export const mapErrorToProblem = (error: unknown): HttpProblem => {
  if (error instanceof RequestError) return { statusCode: error.statusCode, message: error.message };
  if (error instanceof MedstreamError && error.retryable) {
    return { statusCode: 503, message: 'a service this request needs is unavailable; retry later' };
  }
  return { statusCode: 500, message: 'internal error' };
};

/** middy onError middleware applying `mapErrorToProblem` (http-error-handler style). */
export const httpErrorHandler = (
  options: { render?: ProblemRenderer } = {},
): middy.MiddlewareObj<unknown, APIGatewayProxyStructuredResultV2> => {
  const render = options.render ?? renderJsonProblem;
  return {
    onError: async (request) => {
      if (request.response !== undefined) return;
      const problem = mapErrorToProblem(request.error);
      if (problem.statusCode >= 500) {
        // Our messages are value-free; a foreign error's message may quote data, so only its type.
        const error = request.error;
        const cause = error instanceof Error ? error.cause : undefined;
        logger.error('request failed', {
          statusCode: problem.statusCode,
          error: error instanceof MedstreamError ? describeError(error) : { type: describeError(error).type },
          ...(cause === undefined ? {} : { cause: { type: describeError(cause).type } }),
        });
      }
      request.response = jsonResponse(
        problem.statusCode,
        render(problem),
        problem.statusCode === 503 ? { 'retry-after': '5' } : {},
      );
    },
  };
};
