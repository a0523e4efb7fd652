import { ConfigError } from '../errors';
import { loadShippedSourceConnectors } from '../sources/shipped-connectors';

/** What an S3 ObjectCreated event of csvSource delivers: objects of a bucket, under a prefix. */
export type DropEvent = { bucket: string; prefix?: string; suffix?: string };

/**
 * Every CSV connector must be reachable by one of csvSource's S3 events: its bucket, and its
 * `input.path` under the event's prefix. Otherwise S3 never invokes the function for its drops,
 * and files dropped there would wait forever without a word. Refused, naming the connector.
 */
export const checkCsvDrops = (
  connectors: readonly { name: string; bucket: string; inputPath: string }[],
  events: readonly DropEvent[],
): void => {
  for (const connector of connectors) {
    const delivered = events.some(
      (event) => event.bucket === connector.bucket && connector.inputPath.startsWith(event.prefix ?? ''),
    );
    if (!delivered) {
      const covered = events.map((event) => `s3://${event.bucket}/${event.prefix ?? ''}`).join(', ');
      throw new ConfigError(
        `connector ${connector.name} reads s3://${connector.bucket}/${connector.inputPath}, where no S3 event of csvSource delivers drops (${covered || 'none'})`,
      );
    }
  }
};

/** `checkCsvDrops` for the CSV connectors of `connectors/sources`. */
export const checkShippedCsvDrops = (events: readonly DropEvent[]): void =>
  checkCsvDrops(loadShippedSourceConnectors().csv, events);
