import { generateClinicalDataset } from '../../../lib/clinical/generate';
import type { ClinicalSource } from '../../../lib/extract/source';
import { type CompiledMapping, type KeyValue, type SqlQuery, selectRowsInMemory } from '../../../lib/fhir';
import { createSeededRandom } from '../../../lib/random';

/** A small seeded MIMIC dataset, the same on every run. */
export const dataset = generateClinicalDataset({ patients: 12 }, createSeededRandom(7));

/**
 * A source that answers the generated SQL of filter-free mappings from memory: page queries end
 * in `LIMIT $n` (after `key > $m` when paging on), key queries bind the key last.
 */
export const memorySource = (compiled: CompiledMapping): ClinicalSource & { queries: SqlQuery[] } => {
  const queries: SqlQuery[] = [];
  return {
    queries,
    async query(query) {
      queries.push(query);
      const values = query.values as KeyValue[];
      if (query.text.includes(' LIMIT ')) {
        const [after, limit] = values.length === 2 ? values : [undefined, values[0]];
        return selectRowsInMemory(compiled, dataset, {
          ...(after === undefined ? {} : { after }),
          limit: Number(limit),
        });
      }
      const key = values.at(-1);
      return selectRowsInMemory(compiled, dataset, {
        key: typeof key === 'string' && /^\d+$/.test(key) ? Number(key) : (key as KeyValue),
      });
    },
  };
};
