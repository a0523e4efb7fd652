import {
  buildEvent,
  filterViewOf,
  integerOf,
  toEventHeaders,
  toEventRecord,
} from '../../../../plugins/serverless-offline-kafka/src/event';

const origin = { topic: 'biometrics', partition: 2, logAppendTime: false };

describe('event building', () => {
  it('builds a record with base64 key and value and the timestamp type', () => {
    const record = toEventRecord(origin, {
      offset: '15',
      timestamp: '1700000000000',
      key: Buffer.from('p-1'),
      value: Buffer.from('{"hr":72}'),
      headers: {},
    });
    expect(record).toEqual({
      topic: 'biometrics',
      partition: 2,
      offset: 15,
      timestamp: 1700000000000,
      timestampType: 'CREATE_TIME',
      key: 'cC0x',
      value: Buffer.from('{"hr":72}').toString('base64'),
      headers: [],
    });
    expect(
      toEventRecord({ ...origin, logAppendTime: true }, { offset: '1', timestamp: '1', value: null })
        .timestampType,
    ).toBe('LOG_APPEND_TIME');
  });

  it('omits the key of a record without one and keeps a null value', () => {
    const record = toEventRecord(origin, { offset: '0', timestamp: '0', key: null, value: null });
    expect('key' in record).toBe(false);
    expect(record.value).toBeNull();
  });

  it('reads integer strings as Number() does', () => {
    for (const text of ['0', '7', '1795000000123', '-1', '9007199254740993', '123456789012345', ''])
      expect(integerOf(text)).toBe(Number(text));
  });

  it('turns headers into one-key objects of byte arrays, repeated keys in order', () => {
    expect(toEventHeaders({ a: Buffer.from('hi'), b: ['x', Buffer.from('y')], c: undefined })).toEqual([
      { a: [104, 105] },
      { b: [120] },
      { b: [121] },
    ]);
  });

  it('groups records under topic-partition, self-managed with bootstrapServers', () => {
    const a = toEventRecord({ ...origin, partition: 0 }, { offset: '1', timestamp: '1', value: null });
    const b = toEventRecord({ ...origin, partition: 1 }, { offset: '7', timestamp: '1', value: null });
    const event = buildEvent({ kind: 'kafka', bootstrapServers: 'b-1:9092,b-2:9092' }, [a, b]);
    expect(event).toEqual({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'b-1:9092,b-2:9092',
      records: { 'biometrics-0': [a], 'biometrics-1': [b] },
    });
  });

  it('keeps each partition in offset order when its records come in several runs, in arrays of its own', () => {
    const at = (topic: string, partition: number, offset: number) =>
      toEventRecord(
        { topic, partition, logAppendTime: false },
        { offset: String(offset), timestamp: '1', value: null },
      );
    const records = [at('a', 0, 1), at('a', 0, 2), at('a', 1, 5), at('b', 0, 9), at('a', 0, 3)];
    const event = buildEvent({ kind: 'kafka', bootstrapServers: 'b:9092' }, records);
    expect(Object.keys(event.records)).toEqual(['a-0', 'a-1', 'b-0']);
    expect(event.records['a-0']?.map((record) => record.offset)).toEqual([1, 2, 3]);
    expect(event.records['a-1']?.map((record) => record.offset)).toEqual([5]);
    expect(event.records['b-0']?.map((record) => record.offset)).toEqual([9]);

    // A handler that empties its arrays leaves the caller's records untouched.
    const single = [at('a', 0, 1), at('a', 0, 2)];
    (buildEvent({ kind: 'kafka', bootstrapServers: 'b:9092' }, single).records['a-0'] ?? []).length = 0;
    expect(single).toHaveLength(2);
  });

  it('builds an aws:kafka event with the cluster ARN and its brokers for msk, as AWS documents it', () => {
    const event = buildEvent(
      { kind: 'msk', bootstrapServers: 'b-1:9092,b-2:9092', eventSourceArn: 'arn:aws:kafka:r:1:cluster/c/u' },
      [],
    );
    // Field for field and in order, as in the example event of "Using Lambda with Amazon MSK".
    expect(JSON.stringify(event)).toBe(
      JSON.stringify({
        eventSource: 'aws:kafka',
        eventSourceArn: 'arn:aws:kafka:r:1:cluster/c/u',
        bootstrapServers: 'b-1:9092,b-2:9092',
        records: {},
      }),
    );
  });

  it('lets filters see the value parsed as JSON, or as a string when it is not JSON', () => {
    const json = toEventRecord(origin, { offset: '0', timestamp: '0', value: Buffer.from('{"hr":72}') });
    const text = toEventRecord(origin, { offset: '0', timestamp: '0', value: Buffer.from('plain') });
    expect(filterViewOf(json).value).toEqual({ hr: 72 });
    expect(filterViewOf(text).value).toBe('plain');
  });
});
