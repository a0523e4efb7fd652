/**
 * Runs the CSV source handler once, in a process of its own, on the real stack, and prints what it
 * did with the process's peak RSS as JSON. The bounded-memory test runs it with a V8 heap smaller
 * than the file; by hand, for the 100 MB figure:
 *   npx tsx tests/integration/sources/run-csv-drop.ts '<connector json>' '<S3 event json>'
 */
import { makeHandler } from '../../../functions/csv-source';
import { loadConfig } from '../../../lib/config';
import { createKafka, createProducer } from '../../../lib/kafka/client';
import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';
import { resolveCsvSource } from '../../../lib/sources/csv-ingest';
import { createRawPublisher } from '../../../lib/sources/raw-messages';
import { createS3Client, createS3ObjectStore } from '../../../lib/sources/s3-objects';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const main = async (): Promise<void> => {
  const [connectorJson = '', eventJson = ''] = process.argv.slice(2);
  const config = loadConfig();
  const s3 = createS3Client({
    region: config.AWS_REGION,
    endpoint: config.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
    placeholderCredentials: true,
  });
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'sources-csv-run' }),
  );
  const handler = makeHandler({
    sources: [resolveCsvSource(parseCsvSourceConfig(JSON.parse(connectorJson)), loadShippedMappings())],
    objects: createS3ObjectStore(s3),
    publisher: createRawPublisher(producer),
    clock: () => new Date(),
    newBatchId: () => 'run-csv-drop',
  });
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = Date.now();
  try {
    const result = await handler(JSON.parse(eventJson));
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `${JSON.stringify({ result, seconds, baselineRssMb: baseline / 1048576, peakRssMb: peak / 1048576 })}\n`,
    );
  } finally {
    clearInterval(sampler);
    await producer.disconnect();
    s3.destroy();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
