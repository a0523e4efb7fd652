import { type Cursor, encodeCursor, type SearchRequest } from './search-plan';

/** A resource as the store returns it (the loaded document without its `_id`). */
export type FhirResource = { resourceType: string; id: string } & Record<string, unknown>;

/** A FHIR R4 searchset Bundle. */
export type SearchsetBundle = {
  resourceType: 'Bundle';
  type: 'searchset';
  total: number;
  link: { relation: 'self' | 'next' | 'previous'; url: string }[];
  entry?: { fullUrl: string; resource: FhirResource; search: { mode: 'match' } }[];
};

/** One page of a search: the resources in `_id` order, and where the pages around it start. */
export type SearchPage = {
  total: number;
  resources: readonly FhirResource[];
  /** `null` is the first page (no cursor); `undefined` means there is no such page. */
  next: Cursor | null | undefined;
  previous: Cursor | null | undefined;
};

/**
 * The URL of a search page: the accepted parameters in request order, the `_count` in use and
 * the page's cursor, so a client can follow `next` until it is absent.
 */
export const buildSearchUrl = (
  baseUrl: string,
  request: SearchRequest,
  cursor: Cursor | null | undefined,
): string => {
  const query = new URLSearchParams(request.params.map(([name, value]): [string, string] => [name, value]));
  query.set('_count', String(request.count));
  if (cursor !== null && cursor !== undefined) query.set('_cursor', encodeCursor(cursor));
  return `${baseUrl}/${request.resourceType}?${query.toString()}`;
};

/** A searchset Bundle of one page: `total` counts every match, entries are `match`es with full URLs. */
export const buildSearchBundle = (
  baseUrl: string,
  request: SearchRequest,
  page: SearchPage,
): SearchsetBundle => {
  const link: SearchsetBundle['link'] = [
    { relation: 'self', url: buildSearchUrl(baseUrl, request, request.cursor) },
  ];
  if (page.next !== undefined)
    link.push({ relation: 'next', url: buildSearchUrl(baseUrl, request, page.next) });
  if (page.previous !== undefined) {
    link.push({ relation: 'previous', url: buildSearchUrl(baseUrl, request, page.previous) });
  }
  const bundle: SearchsetBundle = { resourceType: 'Bundle', type: 'searchset', total: page.total, link };
  // FHIR JSON has no empty arrays: a page without matches has no `entry` at all.
  if (page.resources.length > 0) {
    bundle.entry = page.resources.map((resource) => ({
      fullUrl: `${baseUrl}/${request.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' },
    }));
  }
  return bundle;
};
