import { Readable } from 'node:stream';
import type { RowGroup } from '../../../lib/fhir';
import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';
import { ingestCsv, resolveCsvSource } from '../../../lib/sources/csv-ingest';
import type { RawPublisher } from '../../../lib/sources/raw-messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const registry = loadShippedMappings();
const sourceOf = (config: Record<string, string> = {}) =>
  resolveCsvSource(
    parseCsvSourceConfig({
      name: 'csv',
      'connector.class': 'io.medstream.connect.s3.CsvSourceConnector',
      'medstream.s3.bucket': 'medstream-drops',
      'input.path': 'incoming/',
      topic: 'raw.mimic-patient',
      'medstream.mapping': 'mimic-patient',
      'medstream.csv.columns': 'subject_id:integer,gender,dob:timestamp',
      ...config,
    }),
    registry,
  );

const recorder = () => {
  const batches: RowGroup[][] = [];
  const publisher: RawPublisher = {
    publish: async (_topic, _mapping, groups) => {
      batches.push([...groups]);
    },
  };
  return { publisher, batches };
};

const ingest = (text: string | string[], source = sourceOf(), publisher = recorder().publisher) =>
  ingestCsv(Readable.from(Array.isArray(text) ? text : [text]), source, { publisher }, { batchId: 'b' });

describe('ingestCsv', () => {
  it('types fields, prefixes them with the mapping table and keeps empty fields as null', async () => {
    const { publisher, batches } = recorder();
    const result = await ingest('subject_id,gender,dob,extra\n7,F,2080-01-01,\n', sourceOf(), publisher);
    expect(result).toEqual({
      outcome: 'finished',
      rowsRead: 1,
      rowsPublished: 1,
      rowsRejected: 0,
      rejected: [],
    });
    expect(batches).toEqual([
      [
        {
          key: 7,
          rows: [
            {
              'patients.subject_id': 7,
              'patients.gender': 'F',
              'patients.dob': '2080-01-01',
              'patients.extra': null,
            },
          ],
        },
      ],
    ]);
  });

  it('publishes batches of batch.size resources without splitting the rows of one key', async () => {
    const { publisher, batches } = recorder();
    const lines = [
      'subject_id,gender,dob',
      '1,F,2080-01-01',
      '2,F,2080-01-01',
      '2,M,2080-01-01',
      '3,F,2080-01-01',
      '4,F,2080-01-01',
    ];
    // Chunks cut mid-line: the parser, not the chunking, decides records.
    const text = `${lines.join('\n')}\n`;
    const chunks = [text.slice(0, 17), text.slice(17, 40), text.slice(40)];
    const result = await ingest(chunks, sourceOf({ 'batch.size': '2' }), publisher);
    expect(result.rowsPublished).toBe(5);
    expect(batches.map((batch) => batch.map((group) => `${group.key}x${group.rows.length}`))).toEqual([
      ['1x1', '2x2'],
      ['3x1', '4x1'],
    ]);
  });

  it('reads files without a header by the declared columns, with another separator and skipped lines', async () => {
    const { publisher, batches } = recorder();
    const source = sourceOf({
      'csv.first.row.as.header': 'false',
      'csv.separator.char': ';',
      'csv.skip.lines': '1',
    });
    const result = await ingest('exported by X\n5;"M";2080-01-01\n', source, publisher);
    expect(result.outcome).toBe('finished');
    expect(batches[0]?.[0]?.key).toBe(5);
  });

  it('rejects records by line with reasons that carry no value', async () => {
    const result = await ingest(
      'subject_id,gender,dob\n1,F,2080-01-01\nPATIENT-X,F,2080-01-01\n3,F\n4,F,yesterday-PATIENT\n,F,2080-01-01\n',
    );
    expect(result).toMatchObject({ outcome: 'error', rowsRead: 5, rowsPublished: 1, rowsRejected: 4 });
    expect(result.rejected).toEqual([
      { line: 3, reason: 'column subject_id: not an integer' },
      { line: 4, reason: 'expected 3 fields, found 2' },
      { line: 5, reason: 'column dob: not a timestamp (YYYY-MM-DD[ HH:MM[:SS]])' },
      { line: 6, reason: 'column subject_id: the key is empty' },
    ]);
    expect(JSON.stringify(result)).not.toContain('PATIENT');
  });

  it('rejects records that are not valid UTF-8, and reads ISO-8859-1 when the connector says so', async () => {
    const latin1 = Buffer.from('subject_id,gender,dob\n1,F,2080-01-01\n2,F\xe9,2080-01-01\n', 'latin1');
    const utf8 = await ingestCsv(
      Readable.from([latin1]),
      sourceOf(),
      { publisher: recorder().publisher },
      { batchId: 'b' },
    );
    expect(utf8).toMatchObject({ outcome: 'error', rowsRead: 2, rowsPublished: 1, rowsRejected: 1 });
    expect(utf8.rejected).toEqual([
      {
        line: 3,
        reason:
          'column gender: not valid UTF-8 (set csv.file.charset to the encoding the file is written in)',
      },
    ]);

    const { publisher, batches } = recorder();
    const declared = await ingestCsv(
      Readable.from([latin1]),
      sourceOf({ 'csv.file.charset': 'iso-8859-1' }),
      { publisher },
      { batchId: 'b' },
    );
    expect(declared).toMatchObject({ outcome: 'finished', rowsPublished: 2, rowsRejected: 0 });
    expect(batches.flat().map((group) => group.rows[0]?.['patients.gender'])).toEqual(['F', 'Fé']);
  });

  it('reads a UTF-8 character split between two chunks', async () => {
    const bytes = Buffer.from('subject_id,gender,dob\n1,Fé,2080-01-01\n');
    const cut = bytes.indexOf(0xa9);
    const { publisher, batches } = recorder();
    const result = await ingestCsv(
      Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]),
      sourceOf(),
      { publisher },
      { batchId: 'b' },
    );
    expect(result).toMatchObject({ outcome: 'finished', rowsPublished: 1 });
    expect(batches[0]?.[0]?.rows[0]?.['patients.gender']).toBe('Fé');
  });

  it('stops at a broken quote, reporting its line in its own words', async () => {
    const result = await ingest(
      'subject_id,gender,dob\n1,F,2080-01-01\n2,"F"PATIENT,2080-01-01\n3,F,2080-01-01\n',
    );
    expect(result).toMatchObject({
      outcome: 'error',
      rowsRead: 2,
      rowsPublished: 1,
      fileError: 'line 3: the file cannot be parsed past this line',
    });
    expect(result.rejected).toEqual([
      { line: 3, reason: 'a closing quote is followed by a character other than the separator' },
    ]);
    expect(JSON.stringify(result)).not.toContain('PATIENT');
  });

  it('fails the whole file on a header that lacks a declared column, publishing nothing', async () => {
    const { publisher, batches } = recorder();
    const result = await ingest('subject_id,gender\n1,F\n', sourceOf(), publisher);
    expect(result).toMatchObject({
      outcome: 'error',
      rowsPublished: 0,
      fileError: 'line 1: the header lacks column(s) dob',
    });
    expect(batches).toEqual([]);
  });

  it('calls an empty object an error', async () => {
    expect(await ingest('')).toMatchObject({ outcome: 'error', fileError: 'the file is empty: no header' });
  });

  it('fails retryably when the broker refuses a batch', async () => {
    const publisher: RawPublisher = {
      publish: async () => {
        throw Object.assign(new Error('broker down'), { retryable: true });
      },
    };
    await expect(ingest('subject_id,gender,dob\n1,F,2080-01-01\n', sourceOf(), publisher)).rejects.toThrow(
      'broker down',
    );
  });

  it('fails retryably when the object stream breaks', async () => {
    const body = new Readable({ read() {} });
    body.push('subject_id,gender,dob\n1,F,2080-01-01\n');
    const run = ingestCsv(body, sourceOf(), { publisher: recorder().publisher }, { batchId: 'b' });
    body.destroy(new Error('socket reset'));
    await expect(run).rejects.toMatchObject({ name: 'UnavailableError', retryable: true });
  });
});
