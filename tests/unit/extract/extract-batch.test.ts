import { UnavailableError } from '../../../lib/errors';
import { extractBatch, toRawMessage } from '../../../lib/extract/extract-batch';
import { createTopicNames, parseRawResourceRows } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { recordingProducer } from '../transform/kafka-events';
import { dataset, memorySource } from './fakes';

const registry = loadShippedMappings();
const patients = registry.get('mimic-patient');
if (patients === undefined) throw new Error('mapping');

describe('extractBatch', () => {
  it('pages by key after the last key of each page, and stops on an empty page', async () => {
    const source = memorySource(patients);
    const { producer } = recordingProducer();
    const summary = await extractBatch(
      patients,
      { source, producer, topics: createTopicNames() },
      { batchId: 'b', pageSize: 4 },
    );
    expect(summary).toMatchObject({
      resources: dataset.patients.length,
      chunks: 3,
      topic: 'raw.mimic-patient',
    });
    const keys = dataset.patients.map((patient) => patient.subject_id).sort((a, b) => a - b);
    expect(source.queries.map((query) => query.values)).toEqual([
      [4],
      [keys[3], 4],
      [keys[7], 4],
      [keys[11], 4],
    ]);
  });

  it('rejects when a prefetched page fails, without an unhandled rejection', async () => {
    let calls = 0;
    const source = {
      query: async () => {
        calls += 1;
        if (calls === 2) throw new UnavailableError('the clinical database is unavailable');
        return [
          {
            'patients.subject_id': calls,
            'patients.gender': 'M',
            'patients.dob': '2100-01-01',
            'patients.dod': null,
          },
        ];
      },
    };
    const slowProducer = {
      send: () => new Promise<void>((resolve) => setTimeout(resolve, 20)),
    };
    await expect(
      extractBatch(
        patients,
        { source, producer: slowProducer, topics: createTopicNames() },
        { batchId: 'b', pageSize: 1 },
      ),
    ).rejects.toBeInstanceOf(UnavailableError);
  });

  it('rejects when the broker refuses a chunk', async () => {
    const { producer } = recordingProducer(new UnavailableError('cannot publish'));
    await expect(
      extractBatch(
        patients,
        { source: memorySource(patients), producer, topics: createTopicNames() },
        { batchId: 'b', pageSize: 4 },
      ),
    ).rejects.toMatchObject({ retryable: true });
  });
});

describe('toRawMessage', () => {
  it('writes a value the transform parses back to the same rows', () => {
    const rows = [{ 'patients.subject_id': 7, 'patients.gender': 'F' }];
    const message = toRawMessage('mimic-patient', 'b', 7, rows);
    expect(message.key).toBe('7');
    expect(parseRawResourceRows(JSON.parse(String(message.value)))).toEqual({
      mapping: 'mimic-patient',
      key: 7,
      rows,
    });
  });
});
