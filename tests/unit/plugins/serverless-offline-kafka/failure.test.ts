import type { KafkaEventRecord } from '../../../../lib/kafka/event';
import {
  buildFailureMessages,
  chunkBySize,
  FAILURE_SEND_BYTES,
  type FailureDocument,
  type FailureMessage,
} from '../../../../plugins/serverless-offline-kafka/src/failure';

const record: KafkaEventRecord = {
  topic: 'biometrics',
  partition: 1,
  offset: 42,
  timestamp: 1_700_000_000_000,
  timestampType: 'CREATE_TIME',
  key: Buffer.from('p-7').toString('base64'),
  value: Buffer.from('{"hr":72}').toString('base64'),
  headers: [{ trace: [97] }],
};

describe('on-failure records', () => {
  it('writes one message per failed record, keyed by its original key, with the failure metadata', () => {
    const [message] = buildFailureMessages(
      {
        records: [record],
        condition: 'RetryAttemptsExhausted',
        attempts: 4,
        error: { type: 'TypeError', message: 'bad reading' },
      },
      {
        kind: 'kafka',
        bootstrapServers: 'b:9092',
        functionName: 'medstream-local-sink',
        region: 'eu-west-1',
      },
      1_700_000_100_000,
      () => 'request-1',
    );
    expect(message?.key?.toString()).toBe('p-7');
    expect(message?.headers).toEqual({
      'lambda-esm-function-arn': 'arn:aws:lambda:eu-west-1:000000000000:function:medstream-local-sink',
      'lambda-esm-condition': 'RetryAttemptsExhausted',
      'lambda-esm-source-topic': 'biometrics',
      'lambda-esm-source-partition': '1',
      'lambda-esm-source-offset': '42',
      'lambda-esm-attempts': '4',
    });
    const document = JSON.parse(message?.value ?? '') as FailureDocument;
    expect(document).toEqual({
      requestContext: {
        requestId: 'request-1',
        functionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:medstream-local-sink',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: 'Unhandled',
        errorType: 'TypeError',
        errorMessage: 'bad reading',
      },
      version: '1.0',
      timestamp: new Date(1_700_000_100_000).toISOString(),
      KafkaBatchInfo: {
        batchSize: 1,
        startOffset: 42,
        endOffset: 42,
        approximateArrivalOfFirstRecord: new Date(1_700_000_000_000).toISOString(),
        approximateArrivalOfLastRecord: new Date(1_700_000_000_000).toISOString(),
        topic: 'biometrics',
        partition: 1,
      },
      payload: {
        eventSource: 'SelfManagedKafka',
        bootstrapServers: 'b:9092',
        records: { 'biometrics-1': [record] },
      },
    });
  });

  it('writes a record without a key with a null key and no function error when it was too old', () => {
    const { key: _key, ...keyless } = record;
    const [message] = buildFailureMessages(
      { records: [keyless], condition: 'RecordAgeExceeded', attempts: 0 },
      {
        kind: 'msk',
        bootstrapServers: '',
        eventSourceArn: 'arn:aws:kafka:r:1:cluster/c/u',
        functionName: 'f',
        region: 'r',
      },
      0,
      () => 'r',
    );
    expect(message?.key).toBeNull();
    const document = JSON.parse(message?.value ?? '') as FailureDocument;
    expect(document.responseContext.functionError).toBe('');
    expect(document.payload.eventSource).toBe('aws:kafka');
  });

  it('splits a large batch of failure messages into sends under the broker limit, in order', () => {
    const message = (index: number, bytes: number): FailureMessage => ({
      key: Buffer.from(`k${index}`),
      value: 'x'.repeat(bytes),
      headers: { 'lambda-esm-source-offset': String(index) },
    });
    // A thousand records of ~1.5 KB each: 1.5 MB in one request, which a 1 MB broker refuses.
    const messages = Array.from({ length: 1000 }, (_unused, index) => message(index, 1500));
    const chunks = chunkBySize(messages);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat()).toEqual(messages);
    for (const chunk of chunks)
      expect(chunk.reduce((sum, { value }) => sum + value.length, 0)).toBeLessThanOrEqual(FAILURE_SEND_BYTES);
    // A message larger than the budget goes alone rather than never.
    expect(chunkBySize([message(1, 10), message(2, 100), message(3, 10)], 50)).toEqual([
      [message(1, 10)],
      [message(2, 100)],
      [message(3, 10)],
    ]);
    expect(chunkBySize([])).toEqual([]);
  });
});
