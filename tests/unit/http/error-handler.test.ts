import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ParseError, UnavailableError } from '../../../lib/errors';
import { httpErrorHandler, mapErrorToProblem, renderOperationOutcome } from '../../../lib/http/error-handler';
import { BadRequestError, NotFoundError, RequestError } from '../../../lib/http/errors';

const context = {} as Context;
const failingWith = (error: unknown, render?: Parameters<typeof httpErrorHandler>[0]) =>
  middy<unknown, APIGatewayProxyStructuredResultV2>(async () => {
    throw error;
  }).use(httpErrorHandler(render));

describe('mapErrorToProblem', () => {
  it('keeps the status and message of a request error', () => {
    expect(mapErrorToProblem(new NotFoundError('unknown resource'))).toEqual({
      statusCode: 404,
      message: 'unknown resource',
    });
    expect(mapErrorToProblem(new BadRequestError('bad id'))).toEqual({ statusCode: 400, message: 'bad id' });
  });

  it('maps a retryable error to a 503 and anything else to a generic 500', () => {
    expect(mapErrorToProblem(new UnavailableError('pg down at 10.0.0.1'))).toEqual({
      statusCode: 503,
      message: 'a service this request needs is unavailable; retry later',
    });
    expect(mapErrorToProblem(new ParseError('value x'))).toEqual({
      statusCode: 500,
      message: 'internal error',
    });
    expect(mapErrorToProblem(new TypeError('boom'))).toEqual({ statusCode: 500, message: 'internal error' });
  });

  it('refuses a RequestError outside 4xx', () => {
    expect(() => new RequestError(500, 'no')).toThrow(RangeError);
  });
});

describe('httpErrorHandler', () => {
  it('answers JSON with the status and a clear message', async () => {
    const response = await failingWith(new NotFoundError('unknown resource'))({}, context);
    expect(response).toEqual({
      statusCode: 404,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ error: 'Not Found', message: 'unknown resource' }),
    });
  });

  it('never serializes a raw error, its stack or SQL text', async () => {
    const error = Object.assign(new Error('syntax error at SELECT "patients"."dob" FROM patients'), {
      code: '42601',
    });
    const response = await failingWith(error)({}, context);
    expect(response.statusCode).toBe(500);
    expect(response.body).toBe(JSON.stringify({ error: 'Internal Server Error', message: 'internal error' }));
  });

  it('adds Retry-After to a 503', async () => {
    const response = await failingWith(new UnavailableError('down'))({}, context);
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'retry-after': '5' });
  });

  it('renders an OperationOutcome for FHIR endpoints', async () => {
    const response = await failingWith(new NotFoundError('no such Patient'), {
      render: renderOperationOutcome,
    })({}, context);
    expect(JSON.parse(response.body ?? '')).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: 'no such Patient' }],
    });
  });
});
