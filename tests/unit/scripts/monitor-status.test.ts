import {
  countDeadLetters,
  createStatusReader,
  type DeadLetterCounts,
  type KafkaFigures,
  statusLine,
  topicsRead,
  unavailableLine,
  unreadNotes,
  unreadTopics,
} from '../../../scripts/monitor-status';

describe("npm start's status figures", () => {
  const reader = (figures: KafkaFigures[], rows: number[]) => {
    const counted: string[][] = [];
    const read = createStatusReader({
      kafkaFigures: async () => figures.shift() as KafkaFigures,
      sunkRows: async (topics) => {
        counted.push(topics);
        return { rows: rows.shift() as number, tables: topics };
      },
    });
    return { read, counted };
  };

  it('counts the tables again only when the topics, events or lag moved', async () => {
    const idle = { topics: ['biometrics_default'], produced: 100, lag: 0 };
    const { read, counted } = reader(
      [idle, idle, { ...idle, lag: 20 }, { ...idle, produced: 120, lag: 20 }, { ...idle, produced: 120 }],
      [100, 100, 100, 120],
    );
    expect(await read()).toEqual({ ...idle, sunk: 100, tables: idle.topics });
    expect(await read()).toEqual({ ...idle, sunk: 100, tables: idle.topics });
    expect(counted).toHaveLength(1);
    await read();
    await read();
    expect(await read()).toEqual({ ...idle, produced: 120, sunk: 120, tables: idle.topics });
    expect(counted).toHaveLength(4);
  });

  it('counts the tables of a topic it reads for the first time', async () => {
    const one = { topics: ['biometrics_icu'], produced: 5, lag: 0 };
    const two = { topics: ['biometrics_er', 'biometrics_icu'], produced: 5, lag: 0 };
    const { read, counted } = reader([one, two], [5, 5]);
    await read();
    await read();
    expect(counted).toEqual([['biometrics_icu'], ['biometrics_er', 'biometrics_icu']]);
  });
});

describe('the topics the live groups read', () => {
  const pattern = /^biometrics_/;

  it('keeps what a group read while its members rejoin (after a broker restart), and forgets nothing else', () => {
    const remembered = new Map<string, string[]>();
    const sink = (...memberTopics: string[][]) => ({
      groupId: 'medstream-local-sinkPostgres-icu',
      memberTopics,
    });
    const transform = { groupId: 'medstream-local-transform-raw.a', memberTopics: [['raw.a']] };
    expect(topicsRead([sink(['biometrics_icu']), transform], pattern, remembered)).toEqual([
      'biometrics_icu',
    ]);
    // Rejoining: the member shows no subscription yet.
    expect(topicsRead([sink([]), transform], pattern, remembered)).toEqual(['biometrics_icu']);
    expect(topicsRead([sink(['biometrics_icu'])], pattern, remembered)).toEqual(['biometrics_icu']);
    // A group that stopped reading a topic (all members joined, with their subscriptions) drops it.
    expect(topicsRead([sink(['biometrics_cardio'])], pattern, remembered)).toEqual(['biometrics_cardio']);
  });

  it('reads nothing of a group never seen with its subscription', () => {
    expect(topicsRead([{ groupId: 'g', memberTopics: [[]] }], pattern, new Map())).toEqual([]);
  });
});

describe('pipeline topics nobody reads', () => {
  it('are reported once they received records unread for the grace period, and forgotten once read', () => {
    const state = { since: new Map<string, number>() };
    const before = [
      { topic: 'raw.mimic-patient', records: 300 },
      { topic: 'raw.mimic-removed', records: 40 },
    ];
    const read = new Set(['raw.mimic-patient']);
    // The first look: what is there is older than the run, even what nobody reads.
    expect(unreadTopics(before, new Set(), state, 0, 30_000)).toEqual([]);
    const later = [
      ...before,
      { topic: 'raw.mimic-new', records: 12 },
      { topic: 'raw.mimic-empty', records: 0 },
    ];
    expect(unreadTopics(later, read, state, 1_000, 30_000)).toEqual([]);
    expect(unreadTopics(later, read, state, 30_999, 30_000)).toEqual([]);
    expect(unreadTopics(later, read, state, 31_000, 30_000)).toEqual([
      { topic: 'raw.mimic-new', records: 12 },
    ]);
    // Read for a moment (the restart's consumers joined), then not: the grace starts again.
    expect(unreadTopics(later, new Set([...read, 'raw.mimic-new']), state, 32_000, 30_000)).toEqual([]);
    expect(unreadTopics(later, read, state, 33_000, 30_000)).toEqual([]);
    expect(unreadTopics(later, read, state, 63_000, 30_000)).toHaveLength(1);
    // A topic from before the run that receives records now is reported too.
    const grown = later.map((entry) =>
      entry.topic === 'raw.mimic-removed' ? { ...entry, records: 41 } : entry,
    );
    unreadTopics(grown, read, state, 64_000, 30_000);
    expect(unreadTopics(grown, read, state, 94_000, 30_000).map(({ topic }) => topic)).toEqual([
      'raw.mimic-new',
      'raw.mimic-removed',
    ]);
  });
});

describe('the notes on topics nobody reads', () => {
  it('say what reads a pipeline topic or a ward once npm start is restarted', () => {
    expect(unreadNotes([], ['default'])).toEqual([]);
    expect(
      unreadNotes(
        [
          { topic: 'biometrics_icu', records: 5200 },
          { topic: 'raw.mimic-new', records: 3 },
          { topic: 'biometrics_er', records: 10 },
        ],
        ['default', 'icu_b'],
      ),
    ).toEqual([
      'medstream: no function reads raw.mimic-new (3 records): Kafka events are planned at start (from connectors/mappings): restart npm start to read a mapping added since',
      'medstream: the sink does not read biometrics_icu (5200 records), biometrics_er (10 records): it reads the wards of SIMULATOR_WARDS (default,icu_b): restart npm start with SIMULATOR_WARDS=default,icu_b,icu,er to sink them',
    ]);
  });
});

describe('the status line', () => {
  it('names the dead-lettered records of the topics read only when there are some', () => {
    const figures = { topics: ['biometrics_default', 'biometrics_icu'], produced: 102, sunk: 100, lag: 0 };
    expect(statusLine(figures)).toBe(
      'medstream: 102 events in biometrics_default, biometrics_icu · 100 rows sunk · consumer lag 0',
    );
    expect(statusLine({ ...figures, deadLettered: 2 })).toBe(
      'medstream: 102 events in biometrics_default, biometrics_icu · 100 rows sunk · 2 dead-lettered (npx medstream dlq show) · consumer lag 0',
    );
    expect(statusLine({ ...figures, topics: [] })).toBe('medstream: no biometrics topic is read yet');
    expect(unavailableLine(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBe(
      'medstream: status unavailable (Connection error: connect ECONNREFUSED 127.0.0.1:9092); is the stack up? `npm run stack:status` says, `npm run stack:up` starts it',
    );
    expect(unavailableLine(new Error('This server does not host this topic-partition'))).toBe(
      'medstream: status unavailable (This server does not host this topic-partition)',
    );
    // The connector's table.name.format changed: the line says where the rows go.
    expect(statusLine({ ...figures, tables: figures.topics })).toBe(statusLine(figures));
    expect(statusLine({ ...figures, tables: ['biometrics_default_v2', 'biometrics_icu_v2'] })).toBe(
      'medstream: 102 events in biometrics_default, biometrics_icu · 100 rows sunk into biometrics_default_v2, biometrics_icu_v2 · consumer lag 0',
    );
  });
});

describe('dead letters by source topic', () => {
  const letter = (offset: string, source?: string, functionName = 'medstream-local-sinkPostgres') => ({
    offset,
    headers:
      source === undefined
        ? {}
        : { 'medstream.dlq.source.topic': Buffer.from(source), 'medstream.dlq.function': functionName },
  });

  it("counts each of this stage's once, even when a partition is read again from its start", () => {
    const counts: DeadLetterCounts = {
      functionPrefix: 'medstream-local-',
      bySource: new Map(),
      next: new Map(),
    };
    countDeadLetters(counts, 0, [
      letter('0', 'biometrics_icu'),
      letter('1', 'raw.a'),
      letter('2'),
      letter('4', 'biometrics_icu', 'medstream-skeleton-sinkPostgres'),
    ]);
    countDeadLetters(counts, 1, [letter('0', 'biometrics_icu')]);
    // The consumer rejoined without committed offsets: partition 0 again, then a new record.
    countDeadLetters(counts, 0, [letter('0', 'biometrics_icu'), letter('1', 'raw.a'), letter('5', 'raw.a')]);
    expect(counts.bySource).toEqual(
      new Map([
        ['biometrics_icu', 2],
        ['raw.a', 2],
      ]),
    );
  });
});
