import { ParseError } from '../errors';
import { headersOf, type KafkaEventRecord } from '../kafka/event';
import { PIPELINE_HEADERS } from '../transform/messages';
import { planLedgerEntries } from './ledger-plan';
import { LEDGER_STAGES, type LedgerEntry, RECORD_OUTCOMES } from './model';

/**
 * Records that exhausted the event source mapping's retries (or aged out) go to its on-failure
 * destination, not through the function's own DLQ path, so the transform and the load never count
 * them. This module turns those failure records into `failed` ledger entries, so such a batch ends.
 */

/** The stage whose event source mapping gave the record up. */
export const FAILED_STAGES = { transform: 'transform', load: 'load' } as const;
export type FailedStage = (typeof FAILED_STAGES)[keyof typeof FAILED_STAGES];

/** One record given up by a stage's event source mapping, as its on-failure record names it. */
export type FailedRecord = {
  /** The record exactly as the stage received it (headers carry the batch, mapping, raw record). */
  record: KafkaEventRecord;
  /** `RetryAttemptsExhausted`, `RecordAgeExceeded`, `SchemaValidationFailed`, or `unknown`. */
  condition: string;
  stage: FailedStage;
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isHeader = (value: unknown): boolean =>
  isObject(value) &&
  Object.values(value).every(
    (bytes) =>
      Array.isArray(bytes) &&
      bytes.every((byte) => typeof byte === 'number' && Number.isInteger(byte) && byte >= 0 && byte <= 255),
  );

/** Checks the fields the ledger relies on; the value itself is never read (nor logged). */
const parseEventRecord = (value: unknown, at: string): KafkaEventRecord => {
  const fail = (problem: string): never => {
    throw new ParseError(`failure record: ${at} ${problem}`);
  };
  if (!isObject(value)) return fail('is not an object');
  if (typeof value.topic !== 'string' || value.topic.length === 0) fail('has no topic');
  if (typeof value.partition !== 'number' || !Number.isInteger(value.partition) || value.partition < 0)
    fail('has no valid partition');
  // Lambda's events carry offsets as numbers; a string of digits is accepted as the same offset.
  const offset = typeof value.offset === 'string' ? Number(value.offset) : value.offset;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) fail('has no valid offset');
  if (!Array.isArray(value.headers) || !value.headers.every(isHeader)) fail('has no valid headers');
  return { ...(value as KafkaEventRecord), offset: offset as number };
};

/**
 * The stage that gave a record up. A `fhir.*` record carries `medstream-raw-record` (stamped by the
 * transform), a raw record does not; the pipeline contract holds under any topic prefix, where a
 * topic name would not.
 */
export const stageOf = (record: KafkaEventRecord): FailedStage =>
  headersOf(record)[PIPELINE_HEADERS.rawRecord] === undefined ? FAILED_STAGES.transform : FAILED_STAGES.load;

/**
 * Parses an on-failure record's value (the Lambda invocation record, already JSON-decoded) into the
 * records it gave up: `payload` is the failed record in the event shape (one per failure record, as
 * `KafkaBatchInfo.batchSize: 1` says; more are accepted). A bad shape is a poison record.
 */
export const parseFailureRecord = (value: unknown): FailedRecord[] => {
  if (!isObject(value)) throw new ParseError('failure record is not a JSON object');
  const { payload, requestContext } = value;
  if (!isObject(payload) || !isObject(payload.records)) {
    throw new ParseError('failure record has no payload records');
  }
  const condition =
    isObject(requestContext) && typeof requestContext.condition === 'string'
      ? requestContext.condition.slice(0, 64)
      : 'unknown';
  const records: KafkaEventRecord[] = [];
  for (const [partitionKey, group] of Object.entries(payload.records)) {
    if (!Array.isArray(group)) throw new ParseError('failure record: payload records group is not an array');
    group.forEach((record, index) => {
      records.push(parseEventRecord(record, `payload record ${partitionKey.slice(0, 128)}[${index}]`));
    });
  }
  if (records.length === 0) throw new ParseError('failure record has no payload records');
  return records.map((record) => ({ record, condition, stage: stageOf(record) }));
};

/**
 * Ledger entries for given-up records: each is a terminal `failed` outcome of its raw record, under
 * the same `_id` (batch | done | raw record) the stages use, so a redelivered failure record, or a
 * raw record that already ended (loaded, failed or dropped), is not counted again. Records without
 * a batch header are not tracked.
 */
export const planFailureEntries = (failed: readonly FailedRecord[]): LedgerEntry[] =>
  planLedgerEntries(
    failed.map(({ record }) => ({ record, stage: LEDGER_STAGES.done, outcome: RECORD_OUTCOMES.failed })),
  );

/** Counts of what a delivery of failure records held, per stage and condition, for logs (no values). */
export const summarizeFailures = (failed: readonly FailedRecord[]): Record<string, number> => {
  const summary: Record<string, number> = {};
  for (const { stage, condition } of failed) {
    const key = `${stage}:${condition}`;
    summary[key] = (summary[key] ?? 0) + 1;
  }
  return summary;
};
