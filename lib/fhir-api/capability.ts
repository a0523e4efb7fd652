import { searchParamsOf } from './search-params';
import { MAX_COUNT } from './search-plan';

/** A FHIR R4 CapabilityStatement (the parts this server fills). */
export type CapabilityStatement = {
  resourceType: 'CapabilityStatement';
  status: 'active';
  date: string;
  kind: 'instance';
  fhirVersion: '4.0.1';
  format: string[];
  [key: string]: unknown;
};

/**
 * What `GET /fhir/metadata` states: exactly the resource types served, each with `read` and
 * `search-type` and its search parameters, JSON only. `date` is when this statement was built.
 */
export const buildCapabilityStatement = (options: {
  baseUrl: string;
  resourceTypes: readonly string[];
  date: Date;
}): CapabilityStatement => ({
  resourceType: 'CapabilityStatement',
  name: 'MedstreamFhirApi',
  title: 'medstream FHIR read API',
  status: 'active',
  date: options.date.toISOString(),
  kind: 'instance',
  software: { name: 'medstream' },
  implementation: { description: 'medstream FHIR store (read-only)', url: options.baseUrl },
  fhirVersion: '4.0.1',
  format: ['json', 'application/fhir+json'],
  rest: [
    {
      mode: 'server',
      documentation:
        `Read and search only. Unknown parameters are refused with a 400 unless the request says ` +
        `Prefer: handling=lenient. Pages: _count (default 20, at most ${MAX_COUNT}) and the opaque ` +
        '_cursor of the Bundle next/previous links, in _id order. Dates without a zone are UTC.',
      resource: [...options.resourceTypes].sort().map((type) => ({
        type,
        interaction: [{ code: 'read' }, { code: 'search-type' }],
        versioning: 'no-version',
        readHistory: false,
        updateCreate: false,
        conditionalRead: 'not-supported',
        searchParam: searchParamsOf(type).map((param) => ({
          name: param.name,
          ...(param.definition === undefined ? {} : { definition: param.definition }),
          type: param.type === 'id' ? 'token' : param.type,
          documentation: param.documentation,
        })),
      })),
    },
  ],
});
