import { isRetryable } from '../errors';
import type { FhirResource } from '../fhir';
import type { DecodedRecord, RecordFailure } from '../kafka/records';
import { parseFhirResource } from '../transform/messages';
import type { FhirStore } from './fhir-store';

/** What one load did; figures only. */
export type LoadSummary = {
  records: number;
  /** Distinct resources written (a resource delivered twice in a batch is written once). */
  resources: number;
  inserted: number;
  replaced: number;
  skipped: number;
  failures: RecordFailure[];
};

/**
 * Upserts a batch of `fhir.<type>` records: parsed at the edge (a bad record is a non-retryable
 * failure), grouped by resource type, deduplicated by id (the last delivered wins, as Kafka orders
 * a key's records), one bulk upsert per type, all types at once. A store outage fails exactly the
 * records of the types it hit, as retryable; a document the store refuses fails its records only.
 */
export const loadResources = async (
  records: readonly DecodedRecord[],
  store: FhirStore,
): Promise<LoadSummary> => {
  const summary: LoadSummary = {
    records: records.length,
    resources: 0,
    inserted: 0,
    replaced: 0,
    skipped: 0,
    failures: [],
  };
  const byType = new Map<string, Map<string, { resource: FhirResource; records: DecodedRecord[] }>>();
  for (const record of records) {
    if (record.value === null) {
      summary.skipped += 1;
      continue;
    }
    try {
      const resource = parseFhirResource(record.value);
      let byId = byType.get(resource.resourceType);
      if (byId === undefined) {
        byId = new Map();
        byType.set(resource.resourceType, byId);
      }
      const entry = byId.get(resource.id);
      if (entry === undefined) byId.set(resource.id, { resource, records: [record] });
      else {
        entry.resource = resource;
        entry.records.push(record);
      }
    } catch (error) {
      summary.failures.push({ record: record.source, error });
    }
  }
  await Promise.all(
    [...byType].map(async ([resourceType, byId]) => {
      const entries = [...byId.values()];
      try {
        const result = await store.upsertResources(
          resourceType,
          entries.map((entry) => entry.resource),
        );
        summary.resources += entries.length - result.failed.length;
        summary.inserted += result.inserted;
        summary.replaced += result.replaced;
        for (const { index, error } of result.failed) {
          for (const record of entries[index]?.records ?? [])
            summary.failures.push({ record: record.source, error });
        }
      } catch (error) {
        if (!isRetryable(error)) throw error;
        for (const entry of entries) {
          for (const record of entry.records) summary.failures.push({ record: record.source, error });
        }
      }
    }),
  );
  return summary;
};
