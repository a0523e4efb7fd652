import type { Context } from 'aws-lambda';
import { buildHandler } from '../../../functions/transform';
import { UnavailableError } from '../../../lib/errors';
import { deriveResourceId } from '../../../lib/fhir';
import { createTopicNames, PIPELINE_HEADERS } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { collectingDeadLetters, kafkaEventOf, recordingProducer } from './kafka-events';

const registry = loadShippedMappings();
const NOW = new Date('2026-11-22T23:00:00.000Z');
const context = { functionName: 'transform', awsRequestId: 'req' } as Context;
const BATCH = '0b8d9c4e-1111-4222-8333-444455556666';

const patientRows = (subjectId: number, dob = '2080-03-04 00:00:00') => ({
  mapping: 'mimic-patient',
  key: subjectId,
  rows: [
    { 'patients.subject_id': subjectId, 'patients.gender': 'F', 'patients.dob': dob, 'patients.dod': null },
  ],
});
const headers = { [PIPELINE_HEADERS.batchId]: BATCH, [PIPELINE_HEADERS.mapping]: 'mimic-patient' };

const handlerWith = (fail?: Error) => {
  const { producer, sent } = recordingProducer(fail);
  const { letters, sink } = collectingDeadLetters();
  const handler = buildHandler({
    registry,
    topics: createTopicNames(),
    producer,
    deadLetters: sink,
    clock: () => NOW,
    functionName: 'transform',
  });
  return { invoke: (event: ReturnType<typeof kafkaEventOf>) => handler(event, context), sent, letters };
};

describe('transform handler', () => {
  it('publishes one FHIR resource per record to fhir.<type>, keyed by id, batch header kept', async () => {
    const { invoke, sent, letters } = handlerWith();
    const response = await invoke(
      kafkaEventOf([
        { topic: 'raw.mimic-patient', offset: 0, key: '1', value: patientRows(1), headers },
        { topic: 'raw.mimic-patient', offset: 1, key: '2', value: patientRows(2), headers },
      ]),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(letters).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topic).toBe('fhir.Patient');
    const [first] = sent[0]?.messages ?? [];
    expect(first?.key).toBe(deriveResourceId('mimic-patient', 1));
    expect(first?.headers).toEqual({ ...headers, [PIPELINE_HEADERS.rawRecord]: 'raw.mimic-patient/0/0' });
    expect(JSON.parse(String(first?.value))).toMatchObject({
      resourceType: 'Patient',
      id: deriveResourceId('mimic-patient', 1),
      birthDate: '2080-03-04',
      meta: { lastUpdated: NOW.toISOString() },
    });
  });

  it('dead-letters a row the mapping rejects with column, rule and value type, and goes on', async () => {
    const { invoke, sent, letters } = handlerWith();
    const response = await invoke(
      kafkaEventOf([
        {
          topic: 'raw.mimic-patient',
          offset: 4,
          key: '1',
          value: patientRows(1, 'sometime in 2080'),
          headers,
        },
        { topic: 'raw.mimic-patient', offset: 5, key: '2', value: patientRows(2), headers },
      ]),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sent.flatMap((send) => send.messages)).toHaveLength(1);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.record.offset).toBe(4);
    expect(letters[0]?.reason.type).toBe('TransformError');
    expect(letters[0]?.reason.message).toContain('column patients.dob');
    expect(letters[0]?.reason.message).toContain('rule cleaning:date');
    expect(letters[0]?.reason.message).toContain('type string');
    expect(letters[0]?.reason.message).not.toContain('2080');
  });

  it('dead-letters records that are not resource rows or name an unknown mapping', async () => {
    const { invoke, letters } = handlerWith();
    await invoke(
      kafkaEventOf([
        { topic: 'raw.mimic-patient', offset: 0, value: 'not json' },
        { topic: 'raw.mimic-patient', offset: 1, value: { rows: [] } },
        { topic: 'raw.mimic-patient', offset: 2, value: { ...patientRows(1), mapping: 'mimic-unknown' } },
      ]),
    );
    expect(letters.map((letter) => letter.reason.type)).toEqual(['ParseError', 'ParseError', 'MappingError']);
  });

  it('skips a tombstone', async () => {
    const { invoke, sent, letters } = handlerWith();
    expect(await invoke(kafkaEventOf([{ topic: 'raw.mimic-patient', offset: 0, value: null }]))).toEqual({
      batchItemFailures: [],
    });
    expect(sent).toEqual([]);
    expect(letters).toEqual([]);
  });

  it('reports every transformed record for retry when publishing fails, still dead-lettering the poison', async () => {
    const { invoke, letters } = handlerWith(new UnavailableError('cannot publish to fhir.Patient'));
    const response = await invoke(
      kafkaEventOf([
        { topic: 'raw.mimic-patient', partition: 1, offset: 7, value: patientRows(1) },
        { topic: 'raw.mimic-patient', partition: 1, offset: 8, value: patientRows(2, 'bad') },
        { topic: 'raw.mimic-patient', partition: 1, offset: 9, value: patientRows(3) },
      ]),
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'raw.mimic-patient-1', offset: 7 } },
      { itemIdentifier: { partition: 'raw.mimic-patient-1', offset: 9 } },
    ]);
    expect(letters.map((letter) => letter.record.offset)).toEqual([8]);
  });
});
