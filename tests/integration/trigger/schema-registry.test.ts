import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { FailureDocument } from '../../../plugins/serverless-offline-kafka/src/failure';
import {
  createTopic,
  disconnectClients,
  produce,
  readTopic,
  recordingHandler,
  recordsIn,
  registryUrl,
  sourceConfig,
  startTrigger,
  stopTriggers,
  uniqueName,
  waitFor,
} from './helpers';

jest.setTimeout(60_000);
afterEach(stopTriggers);
afterAll(disconnectClients);

const registry = new SchemaRegistry({ host: registryUrl });

const registerReadingSchema = async (topic: string): Promise<number> => {
  const schema = {
    type: 'record',
    name: 'Reading',
    namespace: 'medstream.test',
    fields: [
      { name: 'patientId', type: 'string' },
      { name: 'heartRate', type: 'int' },
    ],
  };
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
    { subject: `${topic}-value` },
  );
  return id;
};

describe('schema registry integration', () => {
  it('delivers Avro values decoded to JSON with valueSchemaMetadata (EventRecordFormat JSON)', async () => {
    const topic = uniqueName('avro-json');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    await createTopic(destination);
    const schemaId = await registerReadingSchema(topic);
    const reading = { patientId: 'p-1', heartRate: 72 };
    await produce(topic, [
      { value: await registry.encode(schemaId, reading) },
      { value: 'not avro' }, // fails validation: goes to the destination, never to the function
    ]);
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({
        topic,
        maximumBatchingWindowMs: 0,
        onFailureTopic: destination,
        schemaRegistry: {
          uri: registryUrl,
          eventRecordFormat: 'JSON',
          validateKey: false,
          validateValue: true,
        },
        // Filters apply to the decoded value.
        filterPatterns: [{ value: { heartRate: [{ numeric: ['<', 100] }] } }],
      }),
      handler.invoke,
    );

    await waitFor('the decoded record', () => recordsIn(handler.deliveries).length === 1);
    const [record] = recordsIn(handler.deliveries);
    expect(JSON.parse(Buffer.from(record?.value ?? '', 'base64').toString('utf8'))).toEqual(reading);
    expect(record?.valueSchemaMetadata).toEqual({ dataFormat: 'AVRO', schemaId: String(schemaId) });

    const [failed] = await readTopic(destination, 1);
    const document = JSON.parse(failed?.value ?? '') as FailureDocument;
    expect(document.requestContext.condition).toBe('SchemaValidationFailed');
    expect(document.responseContext.errorMessage).toContain('VALUE');
    expect(document.payload.records[`${topic}-0`]?.[0]?.offset).toBe(1);
  });

  it('delivers the original Avro payload without the schema header (EventRecordFormat SOURCE)', async () => {
    const topic = uniqueName('avro-source');
    await createTopic(topic);
    const schemaId = await registerReadingSchema(topic);
    const encoded = await registry.encode(schemaId, { patientId: 'p-2', heartRate: 80 });
    await produce(topic, [{ value: encoded }]);
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({
        topic,
        maximumBatchingWindowMs: 0,
        schemaRegistry: {
          uri: registryUrl,
          eventRecordFormat: 'SOURCE',
          validateKey: false,
          validateValue: true,
        },
      }),
      handler.invoke,
    );

    await waitFor('the record', () => recordsIn(handler.deliveries).length === 1);
    const [record] = recordsIn(handler.deliveries);
    expect(Buffer.from(record?.value ?? '', 'base64')).toEqual(encoded.subarray(5));
    expect(record?.valueSchemaMetadata).toEqual({ dataFormat: 'AVRO', schemaId: String(schemaId) });
  });
});
