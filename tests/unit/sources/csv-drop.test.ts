import { Readable } from 'node:stream';
import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';
import { type ObjectStore, processCsvDrop } from '../../../lib/sources/csv-drop';
import { resolveCsvSource } from '../../../lib/sources/csv-ingest';
import type { RawPublisher } from '../../../lib/sources/raw-messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const source = resolveCsvSource(
  parseCsvSourceConfig({
    name: 'csv',
    'connector.class': 'io.medstream.connect.s3.CsvSourceConnector',
    'medstream.s3.bucket': 'drops',
    'input.path': 'in/',
    'finished.path': 'done/',
    'error.path': 'failed/',
    topic: 'raw.mimic-patient',
    'medstream.mapping': 'mimic-patient',
  }),
  loadShippedMappings(),
);
const publisher: RawPublisher = { publish: async () => undefined };
const context = { now: () => new Date('2026-11-22T23:00:00.000Z'), batchId: 'b-1' };

const fakeStore = (objects: Record<string, string>) => {
  const calls: string[] = [];
  const store: ObjectStore = {
    open: async (_bucket, key) => {
      const body = objects[key];
      return body === undefined ? undefined : Readable.from([body]);
    },
    move: async (_bucket, from, to) => {
      calls.push(`move ${from} -> ${to}`);
    },
    putJson: async (_bucket, key, body) => {
      calls.push(`report ${key} ${(body as { outcome: string }).outcome}`);
    },
  };
  return { store, calls };
};
const object = (key: string) => ({ bucket: 'drops', key, size: 1, eventName: 'ObjectCreated:Put' });

describe('processCsvDrop', () => {
  it('writes the report beside the destination, then moves the object, keeping sub-paths', async () => {
    const { store, calls } = fakeStore({ 'in/2026/patients.csv': 'subject_id\n1\n' });
    const outcome = await processCsvDrop(
      object('in/2026/patients.csv'),
      [source],
      { objects: store, publisher },
      context,
    );
    expect(outcome).toMatchObject({
      status: 'finished',
      destination: 'done/2026/patients.csv',
      report: {
        connector: 'csv',
        batchId: 'b-1',
        source: { bucket: 'drops', key: 'in/2026/patients.csv' },
        rowsRead: 1,
        rowsPublished: 1,
        startedAt: '2026-11-22T23:00:00.000Z',
      },
    });
    expect(calls).toEqual([
      'report done/2026/patients.csv.report.json finished',
      'move in/2026/patients.csv -> done/2026/patients.csv',
    ]);
  });

  it('files a file with rejected lines under error.path', async () => {
    const { store, calls } = fakeStore({ 'in/p.csv': 'subject_id,gender\n1,F,extra\n' });
    const outcome = await processCsvDrop(
      object('in/p.csv'),
      [source],
      { objects: store, publisher },
      context,
    );
    expect(outcome.status).toBe('error');
    expect(calls.at(-1)).toBe('move in/p.csv -> failed/p.csv');
  });

  it('skips an object already moved (a redelivered notification) and one no connector watches, saying where they read', async () => {
    const { store, calls } = fakeStore({});
    expect(
      await processCsvDrop(object('in/p.csv'), [source], { objects: store, publisher }, context),
    ).toEqual({
      status: 'gone',
      key: 'in/p.csv',
    });
    expect(
      await processCsvDrop(object('other/p.csv'), [source], { objects: store, publisher }, context),
    ).toEqual({
      status: 'ignored',
      key: 'other/p.csv',
      reason: 'no CSV connector reads it: they read under in/',
    });
    expect(
      await processCsvDrop(object('in/p.txt'), [source], { objects: store, publisher }, context),
    ).toEqual({
      status: 'ignored',
      key: 'in/p.txt',
      reason: "its name matches no CSV connector's input.file.pattern: ^.*\\.csv$ (csv)",
    });
    expect(
      await processCsvDrop(
        { ...object('in/p.csv'), bucket: 'uploads' },
        [source],
        { objects: store, publisher },
        context,
      ),
    ).toMatchObject({ status: 'ignored', reason: 'no CSV connector reads bucket uploads (they read drops)' });
    expect(calls).toEqual([]);
  });
});
