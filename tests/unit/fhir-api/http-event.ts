import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import recorded from './fixtures/http-api-event.json';

const ROUTES = ['/fhir/metadata', '/fhir/{type}/{id}', '/fhir/{type}'] as const;

const routeOf = (path: string): { route: string; pathParameters: Record<string, string> | undefined } => {
  const segments = path.split('/');
  for (const route of ROUTES) {
    const parts = route.split('/');
    if (parts.length !== segments.length) continue;
    const parameters: Record<string, string> = {};
    const matched = parts.every((part, index) => {
      const segment = segments[index] as string;
      if (part.startsWith('{')) {
        parameters[part.slice(1, -1)] = decodeURIComponent(segment);
        return segment !== '';
      }
      return part === segment;
    });
    if (matched)
      return { route, pathParameters: Object.keys(parameters).length === 0 ? undefined : parameters };
  }
  throw new Error(`no route for ${path}`);
};

/**
 * An HTTP API (payload 2.0) event for `GET <path>?<query>`, shaped like the recorded one in
 * fixtures/: API Gateway picks the most specific route, and joins repeated query parameters with
 * commas in `queryStringParameters` (only `rawQueryString` keeps them apart); a named stage
 * prefixes `rawPath`.
 */
export const httpApiEvent = (
  url: string,
  headers: Record<string, string> = {},
  options: { stage?: string } = {},
): APIGatewayProxyEventV2 => {
  const [path = '', query = ''] = url.split('?', 2);
  const { route, pathParameters } = routeOf(path);
  const joined: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    joined[name] = name in joined ? `${joined[name]},${value}` : value;
  }
  const event = structuredClone(recorded) as unknown as APIGatewayProxyEventV2;
  event.routeKey = `GET ${route}`;
  event.requestContext.routeKey = event.routeKey;
  // A named stage (not `$default`) prefixes the path API Gateway passes on.
  const stagePrefix = options.stage === undefined ? '' : `/${options.stage}`;
  event.requestContext.stage = options.stage ?? '$default';
  event.rawPath = `${stagePrefix}${path}`;
  event.requestContext.http.path = event.rawPath;
  event.rawQueryString = query;
  event.headers = { ...event.headers, ...headers };
  if (Object.keys(joined).length === 0) delete event.queryStringParameters;
  else event.queryStringParameters = joined;
  if (pathParameters === undefined) delete event.pathParameters;
  else event.pathParameters = pathParameters;
  return event;
};
