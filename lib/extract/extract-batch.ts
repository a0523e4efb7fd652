import { buildPageQuery, type CompiledMapping, groupRowsByKey, type KeyValue, type SourceRow } from '../fhir';
import type { MessageProducer, OutgoingMessage } from '../kafka/client';
import { PIPELINE_HEADERS, type RawResourceRows, type TopicNames } from '../transform/messages';
import type { ClinicalSource } from './source';

/** What a batch extraction did; figures only, never values. */
export type ExtractSummary = {
  batchId: string;
  resource: string;
  topic: string;
  resources: number;
  rows: number;
  chunks: number;
  durationMs: number;
};

/** One chunk's progress, for a log line. */
export type ExtractProgress = Omit<ExtractSummary, 'durationMs'> & {
  chunkResources: number;
  chunkRows: number;
};

export type ExtractBatchDeps = {
  source: ClinicalSource;
  producer: Pick<MessageProducer, 'send'>;
  topics: TopicNames;
};

/** The raw record of one resource: key = the resource key, value = its rows, batch and mapping in headers. */
export const toRawMessage = (
  mappingId: string,
  batchId: string,
  key: KeyValue,
  rows: SourceRow[],
): OutgoingMessage => {
  const value: RawResourceRows = { mapping: mappingId, key, rows };
  return {
    key: String(key),
    value: JSON.stringify(value),
    headers: { [PIPELINE_HEADERS.batchId]: batchId, [PIPELINE_HEADERS.mapping]: mappingId },
  };
};

const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/**
 * Extracts every resource of a mapping to `raw.<mapping>`: pages of at most `pageSize` keys read
 * by key order (keyset paging: memory is bounded by one page and a page never splits a resource),
 * grouped by key, published, with the next page read while the current one is published. Returns
 * once every record is acknowledged by the broker; a source or broker failure rejects (records
 * already published stay: the load is idempotent, so a re-extract repairs a partial batch).
 */
export const extractBatch = async (
  compiled: CompiledMapping,
  deps: ExtractBatchDeps,
  options: { batchId: string; pageSize: number; onProgress?: (progress: ExtractProgress) => void },
): Promise<ExtractSummary> => {
  const started = monotonicMs();
  const mappingId = compiled.mapping.id;
  const topic = deps.topics.raw(mappingId);
  const summary = { batchId: options.batchId, resource: mappingId, topic, resources: 0, rows: 0, chunks: 0 };
  const readPage = (after: KeyValue | undefined): Promise<SourceRow[]> => {
    const page = deps.source.query(buildPageQuery(compiled, { after, limit: options.pageSize }));
    // Awaited on the next turn; until then a rejection must not count as unhandled.
    page.catch(() => undefined);
    return page;
  };
  let pending = readPage(undefined);
  for (;;) {
    const rows = await pending;
    if (rows.length === 0) break;
    const groups = groupRowsByKey(compiled, rows);
    const last = groups.at(-1);
    if (last === undefined) break;
    pending = readPage(last.key);
    await deps.producer.send(
      topic,
      groups.map((group) => toRawMessage(mappingId, options.batchId, group.key, group.rows)),
    );
    summary.resources += groups.length;
    summary.rows += rows.length;
    summary.chunks += 1;
    options.onProgress?.({ ...summary, chunkResources: groups.length, chunkRows: rows.length });
  }
  return { ...summary, durationMs: monotonicMs() - started };
};
