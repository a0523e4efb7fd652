// patches/kafkajs+2.2.4.patch: record offsets and timestamps in numbers rather than BigInt Longs,
// and no timer per connection while no request waits.
// Batches are built with kafkajs' own encoders and decoded by its (patched) decoder; the expected
// values are worked out here with BigInt, independently of either.
import { createRequire } from 'node:module';

type Headers = Record<string, Buffer | Buffer[]>;
type DecodedRecord = {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
};
type DecodedBatch = { records: DecodedRecord[] };
type RecordSpec = {
  offsetDelta: number;
  timestampDelta: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | string[]>;
};

const kafkajs = createRequire(require.resolve('kafkajs'));
// biome-ignore lint/suspicious/noExplicitAny: kafkajs ships no types for its protocol internals.
const internal = (path: string): any => kafkajs(`./src/${path}`);
const Long = internal('utils/long');
const Decoder = internal('protocol/decoder');
const encodeBatch = internal('protocol/recordBatch/v0').RecordBatch;
const encodeRecord = internal('protocol/recordBatch/record/v0');
const decodeBatch = internal('protocol/recordBatch/v0/decoder');
const Batch = internal('consumer/batch');

const LOG_APPEND_TIME_ATTRIBUTE = 0x8;

/** Encodes a record batch as a fetch response carries it, then decodes it. */
const roundTrip = async (
  firstOffset: bigint,
  firstTimestamp: bigint,
  records: RecordSpec[],
  options: { logAppendTime?: bigint } = {},
): Promise<DecodedBatch> => {
  const encoded = await encodeBatch({
    firstOffset: Long.fromValue(firstOffset),
    firstTimestamp: Long.fromValue(firstTimestamp),
    maxTimestamp: Long.fromValue(options.logAppendTime ?? firstTimestamp),
    lastOffsetDelta: records.length - 1,
    records: records.map((record) =>
      encodeRecord({ ...record, timestampDelta: Long.fromValue(record.timestampDelta) }),
    ),
  });
  const bytes: Buffer = encoded.buffer;
  if (options.logAppendTime !== undefined) {
    // The attributes (int16) follow offset 8, length 4, leader epoch 4, magic 1 and CRC 4; the
    // decoder does not check the CRC.
    bytes.writeInt16BE(bytes.readInt16BE(21) | LOG_APPEND_TIME_ATTRIBUTE, 21);
  }
  return decodeBatch(new Decoder(bytes));
};

const plain = (offsetDelta: number, timestampDelta: bigint): RecordSpec => ({
  offsetDelta,
  timestampDelta,
  key: Buffer.from(`k${offsetDelta}`),
  value: Buffer.from(`v${offsetDelta}`),
});

const expectRecords = (
  batch: DecodedBatch,
  firstOffset: bigint,
  firstTimestamp: bigint,
  specs: RecordSpec[],
) => {
  expect(batch.records.map((record) => [record.offset, record.timestamp])).toEqual(
    specs.map((spec) => [
      String(firstOffset + BigInt(spec.offsetDelta)),
      String(firstTimestamp + spec.timestampDelta),
    ]),
  );
};

describe('kafkajs record decoding (patched)', () => {
  it('gives each record its offset and timestamp, as strings', async () => {
    const specs = [plain(0, 0n), plain(1, 5n), plain(2, 70_000n), plain(3, -3n)];
    const batch = await roundTrip(1_234_567n, 1_764_000_000_000n, specs);
    expectRecords(batch, 1_234_567n, 1_764_000_000_000n, specs);
    expect(batch.records[2]?.key?.toString()).toBe('k2');
    expect(batch.records[2]?.value?.toString()).toBe('v2');
    expect(batch.records[2]?.headers).toEqual({});
  });

  it('keeps exact values beyond the range of safe numbers', async () => {
    const huge = 2n ** 62n + 7n;
    const edge = BigInt(Number.MAX_SAFE_INTEGER) - 1n;
    const specs = [plain(0, 0n), plain(1, 1n), plain(2, 2n ** 55n), plain(3, -(2n ** 50n))];
    expectRecords(await roundTrip(huge, huge, specs), huge, huge, specs);
    // The first records stay safe, the later ones cross 2^53.
    expectRecords(await roundTrip(edge, edge, specs), edge, edge, specs);
  });

  it('handles timestamp deltas of every varlong length, both signs', async () => {
    const specs: RecordSpec[] = [];
    for (let bits = 0; bits <= 62; bits += 1) {
      specs.push(plain(specs.length, 2n ** BigInt(bits) - 1n));
      specs.push(plain(specs.length, -(2n ** BigInt(bits))));
    }
    expectRecords(await roundTrip(0n, 1_764_000_000_000n, specs), 0n, 1_764_000_000_000n, specs);
  });

  it('keeps a missing timestamp (-1) and null keys and values', async () => {
    const specs: RecordSpec[] = [{ offsetDelta: 0, timestampDelta: 0n, key: null, value: null }];
    const batch = await roundTrip(0n, -1n, specs);
    expect(batch.records[0]).toMatchObject({ offset: '0', timestamp: '-1', key: null, value: null });
  });

  it('gives every record the batch time under LogAppendTime', async () => {
    const specs = [plain(0, 0n), plain(1, 9n)];
    const batch = await roundTrip(10n, 1_000n, specs, { logAppendTime: 1_764_000_000_123n });
    expect(batch.records.map((record) => record.timestamp)).toEqual(['1764000000123', '1764000000123']);
  });

  it('collects headers, repeated keys into arrays', async () => {
    const specs: RecordSpec[] = [{ ...plain(0, 0n), headers: { a: '1', b: ['2', '3'] } }];
    const batch = await roundTrip(0n, 0n, specs);
    const headers = batch.records[0]?.headers ?? {};
    expect(Object.keys(headers)).toEqual(['a', 'b']);
    expect(String(headers.a)).toBe('1');
    expect((headers.b as Buffer[]).map(String)).toEqual(['2', '3']);
  });

  it('matches BigInt arithmetic on random batches', async () => {
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 50; round += 1) {
      const firstOffset = BigInt(next()) * BigInt(next() % 2 ** 22);
      const firstTimestamp = BigInt(next()) * 1_000n - 1n;
      const specs = Array.from({ length: 20 }, (_, index) =>
        plain(index * (next() % 100), BigInt(next() % 2_000_000) - 1_000_000n),
      );
      expectRecords(await roundTrip(firstOffset, firstTimestamp, specs), firstOffset, firstTimestamp, specs);
    }
  });

  it('parses the batch offset and timestamp once per batch, not once per record', async () => {
    const specs = Array.from({ length: 200 }, (_, index) => plain(index, BigInt(index)));
    const fromString = jest.spyOn(Long, 'fromString');
    try {
      await roundTrip(5_000n, 1_764_000_000_000n, specs);
      expect(fromString.mock.calls.length).toBeLessThan(10);
    } finally {
      fromString.mockRestore();
    }
  });
});

describe('kafkajs Batch (patched)', () => {
  const messages = (offsets: string[]) =>
    offsets.map((offset) => ({ offset, isControlRecord: false, key: null, value: null }));
  const offsetsOf = (batch: { messages: { offset: string }[] }) =>
    batch.messages.map((message) => message.offset);

  it('drops records before the fetched offset', () => {
    const batch = new Batch('t', '5', {
      partition: 0,
      highWatermark: '9',
      messages: messages(['3', '4', '5', '6']),
    });
    expect(offsetsOf(batch)).toEqual(['5', '6']);
  });

  it('compares offsets beyond safe numbers exactly', () => {
    const fetched = String(2n ** 60n + 1n);
    const batch = new Batch('t', fetched, {
      partition: 0,
      highWatermark: String(2n ** 60n + 3n),
      messages: messages([String(2n ** 60n), fetched, String(2n ** 60n + 2n)]),
    });
    expect(offsetsOf(batch)).toEqual([fetched, String(2n ** 60n + 2n)]);
  });

  it('does not parse every record offset into a Long', () => {
    const fromString = jest.spyOn(Long, 'fromString');
    try {
      const offsets = Array.from({ length: 500 }, (_, index) => String(1_000 + index));
      const batch = new Batch('t', '1200', {
        partition: 0,
        highWatermark: '1500',
        messages: messages(offsets),
      });
      expect(batch.messages).toHaveLength(300);
      expect(fromString.mock.calls.length).toBeLessThan(10);
    } finally {
      fromString.mockRestore();
    }
  });
});

describe('kafkajs RequestQueue (patched)', () => {
  const RequestQueue = internal('network/requestQueue');
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  let correlationId = 0;
  const queueOf = () =>
    new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      logger: quiet,
    });
  /** A request kafkajs would send on the socket: here sending records that it was sent. */
  const push = (queue: { push(request: unknown): void }, sent: number[]) => {
    correlationId += 1;
    const id = correlationId;
    queue.push({
      entry: { correlationId: id, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve() {}, reject() {} },
      expectResponse: true,
      requestTimeout: 30_000,
      sendRequest: () => sent.push(id),
    });
    return id;
  };

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps no timer while no request waits (unpatched: a 1 ms timer per connection, forever)', () => {
    const queue = queueOf();
    const sent: number[] = [];
    const id = push(queue, sent);
    expect(sent).toEqual([id]);
    queue.fulfillRequest({ correlationId: id, payload: Buffer.alloc(0), size: 0 });
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(100);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('still sends a request that waited for the in-flight limit or a throttle', () => {
    const queue = queueOf();
    const sent: number[] = [];
    const first = push(queue, sent);
    const second = push(queue, sent);
    expect(sent).toEqual([first]);
    queue.fulfillRequest({ correlationId: first, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([first, second]);

    queue.fulfillRequest({ correlationId: second, payload: Buffer.alloc(0), size: 0 });
    queue.throttledUntil = Date.now() + 50;
    const third = push(queue, sent);
    expect(sent).toEqual([first, second]);
    jest.advanceTimersByTime(60);
    expect(sent).toEqual([first, second, third]);
    queue.fulfillRequest({ correlationId: third, payload: Buffer.alloc(0), size: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });
});
