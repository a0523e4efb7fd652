import type { SourceRow, SqlQuery } from '../../../lib/fhir';
import {
  type OffsetStore,
  planChangeQuery,
  pollIncrementalSource,
  readHorizon,
  resolveIncrementalSource,
  type SourceOffset,
} from '../../../lib/sources/incremental';
import { parseJdbcSourceConfig } from '../../../lib/sources/jdbc-config';
import type { RawPublisher } from '../../../lib/sources/raw-messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const registry = loadShippedMappings();
const NOW = new Date('2026-11-22T23:00:00.000Z');

/** A connector of the shipped patient mapping; an undefined value removes the key. */
const sourceOf = (overrides: Record<string, string | undefined>) => {
  const config: Record<string, string | undefined> = {
    'connector.class': 'io.confluent.connect.jdbc.JdbcSourceConnector',
    'connection.url': 'jdbc:postgresql://db/clinical',
    'table.whitelist': 'patients',
    mode: 'timestamp+incrementing',
    'timestamp.column.name': 'updated_at',
    'incrementing.column.name': 'subject_id',
    'topic.prefix': 'raw.',
    'medstream.mapping': 'mimic-patient',
    'batch.max.rows': '2',
    ...overrides,
  };
  const defined = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined));
  return resolveIncrementalSource(parseJdbcSourceConfig({ name: 'patients', config: defined }), registry);
};

const row = (subjectId: number, timestamp: string): SourceRow => ({
  'patients.subject_id': subjectId,
  'patients.gender': 'F',
  'patients.dob': '2080-01-01 00:00:00',
  'patients.dod': null,
  $timestamp: timestamp,
});

/** Fakes recording the order of calls: the offset must move only after a publish. */
const fakes = (pages: SourceRow[][], initial?: SourceOffset) => {
  const calls: string[] = [];
  const queries: SqlQuery[] = [];
  let offset = initial;
  const offsets: OffsetStore = {
    read: async () => offset,
    commit: async (_connector, _table, next) => {
      calls.push(`commit ${JSON.stringify(next)}`);
      offset = next;
    },
  };
  const published: { topic: string; keys: unknown[]; rows: SourceRow[][] }[] = [];
  let failPublish = false;
  const publisher: RawPublisher = {
    publish: async (topic, _mapping, groups) => {
      if (failPublish) throw new Error('broker down');
      calls.push(`publish ${groups.map((group) => group.key).join(',')}`);
      published.push({
        topic,
        keys: groups.map((group) => group.key),
        rows: groups.map((group) => group.rows),
      });
    },
  };
  const reader = {
    query: async (query: SqlQuery) => {
      queries.push(query);
      return pages.shift() ?? [];
    },
  };
  return {
    ports: { reader, offsets, publisher },
    calls,
    queries,
    published,
    offset: () => offset,
    failPublishing: () => {
      failPublish = true;
    },
  };
};

describe('resolveIncrementalSource', () => {
  it('requires the mapping table and its primary key as the incrementing column', () => {
    expect(() => sourceOf({ 'incrementing.column.name': 'row_id' })).toThrow(
      /must be the mapping's primary key subject_id/,
    );
    expect(() => sourceOf({ 'table.whitelist': 'admissions' })).toThrow(/not the mapping's table patients/);
    expect(() => sourceOf({ 'medstream.mapping': 'nope' })).toThrow(/unknown mapping nope/);
  });
});

describe('planChangeQuery', () => {
  it('reads rows strictly after (timestamp, key) and older than the delay in timestamp+incrementing mode', () => {
    const source = sourceOf({ 'timestamp.delay.interval.ms': '60000' });
    const query = planChangeQuery(source, { incrementing: 7, timestamp: '2026-01-01 00:00:00' }, NOW);
    expect(query.text).toContain('"patients"."updated_at" < $1');
    expect(query.text).toContain(
      '("patients"."updated_at" > $2 OR ("patients"."updated_at" = $2 AND "patients"."subject_id" > $3))',
    );
    expect(query.text).toMatch(/ORDER BY "patients"."updated_at", "patients"."subject_id" LIMIT \$4$/);
    expect(query.values).toEqual(['2026-11-22T22:59:00.000Z', '2026-01-01 00:00:00', 7, 2]);
  });

  it('reads keys strictly greater than the offset in incrementing mode, whatever the clock', () => {
    const source = sourceOf({ mode: 'incrementing', 'timestamp.column.name': undefined });
    expect(planChangeQuery(source, undefined, NOW).values).toEqual([2]);
    const query = planChangeQuery(source, { incrementing: 9 }, NOW);
    expect(query.text).toContain('"patients"."subject_id" > $1');
    expect(query.values).toEqual([9, 2]);
  });

  it('computes the horizon from the given time', () => {
    expect(readHorizon(NOW, 1500)).toBe('2026-11-22T22:59:58.500Z');
  });
});

describe('pollIncrementalSource', () => {
  const context = { now: NOW, batchId: 'b-1', hasTime: () => true };

  it('publishes each page, then commits its last (timestamp, key), until a short page', async () => {
    const source = sourceOf({});
    const fake = fakes([
      [row(1, '2026-01-01 00:00:00'), row(2, '2026-01-01 00:00:00')],
      [row(3, '2026-01-02 00:00:00')],
    ]);
    const report = await pollIncrementalSource(source, fake.ports, context);
    expect(report).toEqual({
      connector: 'patients',
      mode: 'timestamp+incrementing',
      queries: 2,
      rows: 3,
      resources: 3,
      caughtUp: true,
    });
    expect(fake.calls).toEqual([
      'publish 1,2',
      'commit {"incrementing":2,"timestamp":"2026-01-01 00:00:00"}',
      'publish 3',
      'commit {"incrementing":3,"timestamp":"2026-01-02 00:00:00"}',
    ]);
    expect(fake.published[0]?.topic).toBe('raw.mimic-patient');
    // The offset column is bookkeeping: the published rows are the mapping's columns only.
    expect(fake.published[0]?.rows[0]?.[0]).not.toHaveProperty('$timestamp');
    expect(fake.queries[1]?.values).toContain(2);
  });

  it('resumes from the stored offset', async () => {
    const fake = fakes([[]], { incrementing: 5, timestamp: '2026-01-01 00:00:00' });
    await pollIncrementalSource(sourceOf({}), fake.ports, context);
    expect(fake.queries[0]?.values.slice(1, 3)).toEqual(['2026-01-01 00:00:00', 5]);
  });

  it('keeps the offset when the publish fails (at-least-once)', async () => {
    const fake = fakes([[row(1, '2026-01-01 00:00:00')]], {
      incrementing: 0,
      timestamp: '2025-01-01 00:00:00',
    });
    fake.failPublishing();
    await expect(pollIncrementalSource(sourceOf({}), fake.ports, context)).rejects.toThrow('broker down');
    expect(fake.offset()).toEqual({ incrementing: 0, timestamp: '2025-01-01 00:00:00' });
  });

  it('stops between pages when out of time, the offset at the last page published', async () => {
    const fake = fakes([
      [row(1, 't1'), row(2, 't1')],
      [row(3, 't2'), row(4, 't2')],
    ]);
    let budget = 1;
    const report = await pollIncrementalSource(sourceOf({}), fake.ports, {
      ...context,
      hasTime: () => budget-- > 0,
    });
    expect(report).toMatchObject({ queries: 1, resources: 2, caughtUp: false });
    expect(fake.offset()).toEqual({ incrementing: 2, timestamp: 't1' });
  });

  it('stores a TIMESTAMPTZ read as a Date as its ISO text', async () => {
    const fake = fakes([[{ ...row(1, ''), $timestamp: new Date('2026-01-01T00:00:00.123Z') }]]);
    await pollIncrementalSource(sourceOf({}), fake.ports, context);
    expect(fake.offset()).toEqual({ incrementing: 1, timestamp: '2026-01-01T00:00:00.123Z' });
  });
});
