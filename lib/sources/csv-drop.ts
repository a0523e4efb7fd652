import type { Readable } from 'node:stream';
import type { CsvIngestResult, CsvSource } from './csv-ingest';
import { ingestCsv } from './csv-ingest';
import type { RawPublisher } from './raw-messages';
import type { CreatedObject } from './s3-event';

/** What the CSV source needs of object storage. */
export type ObjectStore = {
  /** The object's body as a stream, or undefined when it no longer exists (already processed). */
  open(bucket: string, key: string): Promise<Readable | undefined>;
  /** Copy then delete: S3 has no rename. */
  move(bucket: string, from: string, to: string): Promise<void>;
  putJson(bucket: string, key: string, body: unknown): Promise<void>;
};

/** The report written beside a processed object: counts, lines and reasons, never values. */
export type DropReport = CsvIngestResult & {
  connector: string;
  mapping: string;
  topic: string;
  batchId: string;
  source: { bucket: string; key: string };
  destination: string;
  startedAt: string;
  finishedAt: string;
};

/** What happened to one created object. */
export type DropOutcome =
  | { status: 'ignored'; key: string; reason: string }
  | { status: 'gone'; key: string }
  | { status: 'finished' | 'error'; key: string; destination: string; report: DropReport };

/** The connector whose bucket, input prefix and file pattern the object matches, if any. */
export const findCsvSource = (sources: readonly CsvSource[], object: CreatedObject): CsvSource | undefined =>
  sources.find(({ config }) => {
    if (config.bucket !== object.bucket || !object.key.startsWith(config.inputPath)) return false;
    return config.filePattern.test(object.key.slice(config.inputPath.length));
  });

/**
 * Why no connector reads an object, naming where they do read: a file dropped under a name no
 * pattern matches stays where it is, and the user is told which names would be read.
 */
export const unreadReason = (sources: readonly CsvSource[], object: CreatedObject): string => {
  const inBucket = sources.filter(({ config }) => config.bucket === object.bucket);
  if (inBucket.length === 0)
    return `no CSV connector reads bucket ${object.bucket} (they read ${[...new Set(sources.map(({ config }) => config.bucket))].join(', ')})`;
  const underPath = inBucket.filter(({ config }) => object.key.startsWith(config.inputPath));
  if (underPath.length === 0)
    return `no CSV connector reads it: they read under ${[...new Set(inBucket.map(({ config }) => config.inputPath))].join(', ')}`;
  return `its name matches no CSV connector's input.file.pattern: ${underPath.map(({ config }) => `${config.filePattern.source} (${config.name})`).join(', ')}`;
};

/** `incoming/a/b.csv` under `finished/` → `finished/a/b.csv`. */
export const destinationOf = (source: CsvSource, key: string, outcome: 'finished' | 'error'): string =>
  `${outcome === 'finished' ? source.config.finishedPath : source.config.errorPath}${key.slice(source.config.inputPath.length)}`;

/** The report's key beside the moved object. */
export const reportKeyOf = (destination: string): string => `${destination}.report.json`;

/**
 * Ingests one dropped object and files it: the rows are published, the report is written, then
 * the object is moved to finished/ or error/. The report is written before the move, so a moved
 * object always has one; a redelivered event for an object already moved finds nothing and is
 * skipped (S3 notifications are at-least-once).
 */
export const processCsvDrop = async (
  object: CreatedObject,
  sources: readonly CsvSource[],
  ports: { objects: ObjectStore; publisher: RawPublisher },
  context: { now: () => Date; batchId: string },
): Promise<DropOutcome> => {
  const source = findCsvSource(sources, object);
  if (source === undefined)
    return { status: 'ignored', key: object.key, reason: unreadReason(sources, object) };
  const startedAt = context.now().toISOString();
  const body = await ports.objects.open(object.bucket, object.key);
  if (body === undefined) return { status: 'gone', key: object.key };
  const result = await ingestCsv(body, source, { publisher: ports.publisher }, { batchId: context.batchId });
  const destination = destinationOf(source, object.key, result.outcome);
  const report: DropReport = {
    connector: source.config.name,
    mapping: source.config.mapping,
    topic: source.config.topic,
    batchId: context.batchId,
    source: { bucket: object.bucket, key: object.key },
    destination,
    startedAt,
    finishedAt: context.now().toISOString(),
    ...result,
  };
  await ports.objects.putJson(object.bucket, reportKeyOf(destination), report);
  await ports.objects.move(object.bucket, object.key, destination);
  return { status: result.outcome, key: object.key, destination, report };
};
