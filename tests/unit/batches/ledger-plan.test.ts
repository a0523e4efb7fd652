import { batchIdsOf, countPublished, planLedgerEntries, rawRecordOf } from '../../../lib/batches/ledger-plan';
import { recordsOf } from '../../../lib/kafka/event';
import { PIPELINE_HEADERS } from '../../../lib/transform/messages';
import { kafkaEventOf } from '../transform/kafka-events';

const BATCH = '6f1d7c1e-0000-4000-8000-000000000001';
const raw = { [PIPELINE_HEADERS.batchId]: BATCH, [PIPELINE_HEADERS.mapping]: 'mimic-patient' };

describe('planLedgerEntries', () => {
  it('names a raw record by its own coordinates, and a fhir record by the raw record it came from', () => {
    const [rawRecord, fhirRecord] = recordsOf(
      kafkaEventOf([
        { topic: 'raw.mimic-patient', offset: 4, value: {}, headers: raw },
        {
          topic: 'fhir.Patient',
          partition: 1,
          offset: 9,
          value: {},
          headers: { ...raw, [PIPELINE_HEADERS.rawRecord]: 'raw.mimic-patient/0/4' },
        },
      ]),
    );
    if (rawRecord === undefined || fhirRecord === undefined) throw new Error('records');
    expect(rawRecordOf(rawRecord)).toBe('raw.mimic-patient/0/4');
    expect(rawRecordOf(fhirRecord)).toBe('raw.mimic-patient/0/4');
  });

  it('plans one entry per raw record, skipping records of no batch and repeats within a delivery', () => {
    const records = recordsOf(
      kafkaEventOf([
        {
          topic: 'fhir.Patient',
          offset: 1,
          value: {},
          headers: { ...raw, [PIPELINE_HEADERS.rawRecord]: 'r/0/1' },
        },
        // The same raw record published twice by a retried transform: counted once.
        {
          topic: 'fhir.Patient',
          offset: 2,
          value: {},
          headers: { ...raw, [PIPELINE_HEADERS.rawRecord]: 'r/0/1' },
        },
        { topic: 'fhir.Patient', offset: 3, value: {} },
      ]),
    );
    const entries = planLedgerEntries(
      records.map((record) => ({ record, stage: 'done' as const, outcome: 'loaded' as const })),
    );
    expect(entries).toEqual([
      {
        _id: `${BATCH}|done|r/0/1`,
        batchId: BATCH,
        mapping: 'mimic-patient',
        stage: 'done',
        outcome: 'loaded',
      },
    ]);
  });

  it('keeps no outcome on a transformed entry', () => {
    const [record] = recordsOf(
      kafkaEventOf([{ topic: 'raw.mimic-patient', offset: 0, value: {}, headers: raw }]),
    );
    if (record === undefined) throw new Error('record');
    expect(planLedgerEntries([{ record, stage: 'transformed' }])).toEqual([
      {
        _id: `${BATCH}|transformed|raw.mimic-patient/0/0`,
        batchId: BATCH,
        mapping: 'mimic-patient',
        stage: 'transformed',
      },
    ]);
  });

  it('lists the distinct batches of a delivery', () => {
    const records = recordsOf(
      kafkaEventOf([
        { topic: 't', offset: 0, value: {}, headers: raw },
        { topic: 't', offset: 1, value: {}, headers: raw },
        { topic: 't', offset: 2, value: {} },
      ]),
    );
    expect(batchIdsOf(records)).toEqual([BATCH]);
  });
});

describe('countPublished', () => {
  it('counts sent messages per batch and mapping from their headers', () => {
    expect(
      countPublished([
        { key: '1', value: '{}', headers: raw },
        { key: '2', value: '{}', headers: raw },
        { key: '3', value: '{}', headers: { ...raw, [PIPELINE_HEADERS.mapping]: 'mimic-condition' } },
        { key: '4', value: '{}' },
      ]),
    ).toEqual([
      { batchId: BATCH, mapping: 'mimic-patient', count: 2 },
      { batchId: BATCH, mapping: 'mimic-condition', count: 1 },
    ]);
  });
});
