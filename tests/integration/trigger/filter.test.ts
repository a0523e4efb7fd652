import {
  committedOffset,
  createTopic,
  disconnectClients,
  produce,
  recordingHandler,
  sourceConfig,
  startTrigger,
  stopTriggers,
  uniqueName,
  valuesIn,
  waitFor,
} from './helpers';

jest.setTimeout(60_000);
afterEach(stopTriggers);
afterAll(disconnectClients);

describe('filter patterns', () => {
  it('delivers only matching records and commits past the filtered ones', async () => {
    const topic = uniqueName('filter');
    await createTopic(topic);
    const readings = [
      { kind: 'heart_rate', value: 72, ward: 'icu-1' },
      { kind: 'heart_rate', value: 180, ward: 'icu-2' },
      { kind: 'spo2', value: 91, ward: 'icu-1' },
      { kind: 'spo2', value: 99, ward: 'ward-3' },
      { kind: 'temperature', value: 39.5 },
      'not json',
    ];
    await produce(
      topic,
      readings.map((reading) => ({ value: typeof reading === 'string' ? reading : JSON.stringify(reading) })),
    );
    const handler = recordingHandler();
    const groupId = uniqueName('group');
    await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        maximumBatchingWindowMs: 0,
        filterPatterns: [
          // numeric range AND prefix
          { value: { kind: ['heart_rate'], value: [{ numeric: ['>', 100] }], ward: [{ prefix: 'icu' }] } },
          // anything-but
          { value: { kind: ['spo2'], ward: [{ 'anything-but': ['ward-3'] }] } },
          // exists:false
          { value: { kind: ['temperature'], ward: [{ exists: false }] } },
        ],
      }),
      handler.invoke,
    );

    // Filtered records are committed without being delivered, as on AWS.
    await waitFor('all 6 offsets committed', async () => (await committedOffset(groupId, topic)) === 6);
    expect(valuesIn(handler.deliveries)).toEqual([
      { kind: 'heart_rate', value: 180, ward: 'icu-2' },
      { kind: 'spo2', value: 91, ward: 'icu-1' },
      { kind: 'temperature', value: 39.5 },
    ]);
  });
});
