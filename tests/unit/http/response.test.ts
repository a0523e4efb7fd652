import { BadRequestError } from '../../../lib/http/errors';
import {
  jsonResponse,
  readJsonBody,
  readOptionalPathParameter,
  readPathParameter,
} from '../../../lib/http/response';

describe('jsonResponse', () => {
  it('serializes the body with a JSON content type and extra headers', () => {
    expect(jsonResponse(202, { a: 1 }, { 'x-y': 'z' })).toEqual({
      statusCode: 202,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-y': 'z' },
      body: '{"a":1}',
    });
  });
});

describe('path parameters', () => {
  it('reads a declared parameter and names a missing one in a 400', () => {
    expect(readPathParameter({ pathParameters: { resource: 'p' } }, 'resource')).toBe('p');
    expect(() => readPathParameter({ pathParameters: {} }, 'resource')).toThrow(
      new BadRequestError('path parameter resource is required'),
    );
    expect(() => readPathParameter({}, 'resource')).toThrow(BadRequestError);
  });

  it('reads an optional parameter as undefined when absent', () => {
    expect(readOptionalPathParameter({}, 'id')).toBeUndefined();
    expect(readOptionalPathParameter({ pathParameters: { id: '7' } }, 'id')).toBe('7');
  });
});

describe('readJsonBody', () => {
  it('reads plain and base64 JSON, and an empty body as undefined', () => {
    expect(readJsonBody({ body: '{"a":1}', isBase64Encoded: false })).toEqual({ a: 1 });
    expect(readJsonBody({ body: Buffer.from('{"a":2}').toString('base64'), isBase64Encoded: true })).toEqual({
      a: 2,
    });
    expect(readJsonBody({ isBase64Encoded: false })).toBeUndefined();
    expect(readJsonBody({ body: '  ', isBase64Encoded: false })).toBeUndefined();
  });

  it('answers malformed JSON with a 400', () => {
    expect(() => readJsonBody({ body: '{', isBase64Encoded: false })).toThrow(BadRequestError);
  });
});
