import { logLevel } from 'kafkajs';
import { createRepeatFilter, isKafkaError, kafkajsLogCreator } from '../../../lib/kafka/logs';

const refused = 'Connection error: connect ECONNREFUSED 127.0.0.1:9092';

describe('kafkajs logs', () => {
  it('reports a broker response error that kafkajs retries as a warning, other errors as errors', () => {
    // Logged when a producer first writes to a topic the broker then creates.
    expect(isKafkaError(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)')).toBe(false);
    expect(isKafkaError(logLevel.ERROR, refused)).toBe(true);
    expect(isKafkaError(logLevel.WARN, 'The group is rebalancing, re-joining')).toBe(false);
  });

  it('holds back a message repeated within the window and says how many were held back', () => {
    let clock = 0;
    const filter = createRepeatFilter({ windowMs: 30_000, now: () => clock });
    expect(filter(refused)).toEqual({ write: true, heldBack: 0 });
    clock = 1_000;
    expect(filter(refused)).toEqual({ write: false });
    expect(filter('Failed to connect to seed broker')).toEqual({ write: true, heldBack: 0 });
    clock = 29_999;
    expect(filter(refused)).toEqual({ write: false });
    clock = 30_000;
    expect(filter(refused)).toEqual({ write: true, heldBack: 2 });
    clock = 60_000;
    expect(filter(refused)).toEqual({ write: true, heldBack: 0 });
    expect(filter('Restarting the consumer in 9176ms')).toEqual({ write: true, heldBack: 0 });
    expect(filter('Restarting the consumer in 13192ms')).toEqual({ write: false });
  });

  it('forgets old messages once many distinct ones were seen', () => {
    let clock = 0;
    const filter = createRepeatFilter({ windowMs: 10, now: () => clock });
    // Ids made of letters, as numbers alone do not make messages distinct.
    const id = (index: number) => String(index).replace(/\d/g, (digit) => 'abcdefghij'[Number(digit)] ?? '');
    for (let index = 0; index < 1_005; index += 1) filter(`member ${id(index)} left`);
    filter(`member ${id(1)} left`);
    clock = 20;
    for (let index = 0; index < 5; index += 1) filter(`again ${id(index)}`);
    // An old message, held back once long ago, is written again with nothing held back.
    expect(filter(`member ${id(1)} left`)).toEqual({ write: true, heldBack: 0 });
  });

  it('writes kafkajs lines through the filter, the held-back count in the details', () => {
    let clock = 0;
    const lines: [string, string, Record<string, unknown>][] = [];
    const log = kafkajsLogCreator(
      (severity, message, extra) => lines.push([severity, message, extra]),
      createRepeatFilter({ windowMs: 30_000, now: () => clock }),
    )(logLevel.WARN);
    const entry = (level: logLevel, message: string) =>
      log({ namespace: 'Connection', level, label: 'ERROR', log: { message, timestamp: 't', broker: 'b' } });
    for (let attempt = 0; attempt < 12; attempt += 1) entry(logLevel.ERROR, refused);
    entry(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)');
    clock = 31_000;
    entry(logLevel.ERROR, refused);
    expect(lines).toEqual([
      ['error', `kafkajs: ${refused}`, { timestamp: 't', broker: 'b' }],
      ['warn', 'kafkajs: Response Metadata(key: 3, version: 6)', { timestamp: 't', broker: 'b' }],
      ['error', `kafkajs: ${refused}`, { timestamp: 't', broker: 'b', heldBack: 11 }],
    ]);
  });

  it("writes nothing of a new topic's metadata while the broker creates it", () => {
    const lines: string[] = [];
    const log = kafkajsLogCreator(
      (_severity, message) => lines.push(message),
      createRepeatFilter({ windowMs: 30_000, now: () => 0 }),
    )(logLevel.WARN);
    const metadata = (error: string) =>
      log({
        namespace: 'Connection',
        level: logLevel.ERROR,
        label: 'ERROR',
        log: { message: 'Response Metadata(key: 3, version: 6)', timestamp: 't', error },
      });
    metadata('This server does not host this topic-partition');
    metadata('There is no leader for this topic-partition as we are in the middle of a leadership election');
    expect(lines).toEqual([]);
    metadata('Not authorized to access topics: [Topic authorization failed]');
    expect(lines).toEqual(['kafkajs: Response Metadata(key: 3, version: 6)']);
  });
});
