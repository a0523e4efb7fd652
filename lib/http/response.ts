import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BadRequestError } from './errors';

/** An HTTP API (payload 2.0) response with a JSON body. */
export const jsonResponse = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

/** A path parameter the route declares; absent or blank is a 400 naming it, never a crash. */
export const readPathParameter = (
  event: Pick<APIGatewayProxyEventV2, 'pathParameters'>,
  name: string,
): string => {
  const value = event.pathParameters?.[name];
  if (value === undefined || value.trim() === '')
    throw new BadRequestError(`path parameter ${name} is required`);
  return value;
};

/** A path parameter the route may omit. */
export const readOptionalPathParameter = (
  event: Pick<APIGatewayProxyEventV2, 'pathParameters'>,
  name: string,
): string | undefined => {
  const value = event.pathParameters?.[name];
  return value === undefined || value === '' ? undefined : value;
};

/** The JSON body of a request (base64 bodies decoded); empty is `undefined`, malformed is a 400. */
export const readJsonBody = (event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): unknown => {
  if (event.body === undefined || event.body === null || event.body.trim() === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new BadRequestError('the request body is not valid JSON', { cause });
  }
};
