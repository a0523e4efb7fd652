import { makeHandler } from '../../../functions/simulate';
import type { AvroSchema } from '../../../lib/avro/registry';
import { createReadingPublisher, type KafkaMessage } from '../../../lib/biometrics/publisher';
import { BIOMETRICS_KEY_SCHEMA, BIOMETRICS_VALUE_SCHEMA } from '../../../lib/biometrics/schema';
import { createSimulation } from '../../../lib/biometrics/simulation';
import { createPopulation } from '../../../lib/biometrics/simulator';
import { UnavailableError } from '../../../lib/errors';
import { logger } from '../../../lib/logger';
import { createSeededRandom } from '../../../lib/random';

/** A registry that encodes as JSON behind a fake id, and records registrations. */
const fakeRegistry = () => {
  const registered: { subject: string; schema: AvroSchema }[] = [];
  return {
    registered,
    register: async (subject: string, schema: AvroSchema) => {
      registered.push({ subject, schema });
      return subject.endsWith('-key') ? 1 : 2;
    },
    encode: async (schemaId: number, value: unknown) => Buffer.from(JSON.stringify({ schemaId, value })),
  };
};

const fakeSender = () => {
  const sent: { topic: string; messages: KafkaMessage[] }[] = [];
  return {
    sent,
    send: async (topic: string, messages: KafkaMessage[]) => void sent.push({ topic, messages }),
  };
};

const decode = (buffer: Buffer | string | null) =>
  JSON.parse(String(buffer)) as { schemaId: number; value: Record<string, unknown> };

describe('simulate', () => {
  const now = Date.UTC(2026, 10, 22, 10, 0, 0);

  it('publishes one reading per patient per tick to biometrics_<ward>, keyed by patient id', async () => {
    const registry = fakeRegistry();
    const sender = fakeSender();
    const random = createSeededRandom(1);
    const simulation = createSimulation({
      population: createPopulation({ patients: 4, wards: ['icu', 'er'] }, random),
      publisher: createReadingPublisher({ registry, sender }),
      random,
    });
    const handler = makeHandler({ simulation, now: () => now, ticks: 2 });

    await expect(handler()).resolves.toEqual({
      ticks: 2,
      published: 8,
      topics: { biometrics_icu: 4, biometrics_er: 4 },
    });
    expect(sender.sent.map(({ topic, messages }) => [topic, messages.length])).toEqual([
      ['biometrics_icu', 2],
      ['biometrics_er', 2],
      ['biometrics_icu', 2],
      ['biometrics_er', 2],
    ]);
    const first = sender.sent[0]?.messages[0];
    expect(decode(first?.key ?? null)).toEqual({ schemaId: 1, value: { patient_id: 'P000001' } });
    expect(decode(first?.value ?? null)).toMatchObject({
      schemaId: 2,
      value: { patient_id: 'P000001', ward: 'icu', time: now - 1000 },
    });
  });

  it('registers the key and value schemas once per topic under TopicNameStrategy subjects', async () => {
    const registry = fakeRegistry();
    const publisher = createReadingPublisher({ registry, sender: fakeSender() });
    const random = createSeededRandom(2);
    const simulation = createSimulation({
      population: createPopulation({ patients: 2, wards: ['icu'] }, random),
      publisher,
      random,
    });
    await simulation.run(now, 3);
    expect(registry.registered).toEqual([
      { subject: 'biometrics_icu-key', schema: BIOMETRICS_KEY_SCHEMA },
      { subject: 'biometrics_icu-value', schema: BIOMETRICS_VALUE_SCHEMA },
    ]);
  });

  it('publishes only the first readings of a tick when given a limit', async () => {
    const sender = fakeSender();
    const random = createSeededRandom(4);
    const simulation = createSimulation({
      population: createPopulation({ patients: 3, wards: ['icu'] }, random),
      publisher: createReadingPublisher({ registry: fakeRegistry(), sender }),
      random,
    });
    await expect(simulation.run(now, 3, 7)).resolves.toMatchObject({ ticks: 3, published: 7 });
    expect(sender.sent.flatMap(({ messages }) => messages)).toHaveLength(7);
    await expect(simulation.run(now + 3000, 1, 0)).resolves.toMatchObject({ published: 0 });
    expect(sender.sent.flatMap(({ messages }) => messages)).toHaveLength(7);
  });

  it('does not advance the population when a send fails, so the tick is replayed', async () => {
    const random = createSeededRandom(3);
    let failing = true;
    const sent: KafkaMessage[][] = [];
    const sender = {
      send: async (_topic: string, messages: KafkaMessage[]) => {
        if (failing) throw new UnavailableError('broker down');
        sent.push(messages);
      },
    };
    const simulation = createSimulation({
      population: createPopulation({ patients: 1, wards: ['icu'] }, random),
      publisher: createReadingPublisher({ registry: fakeRegistry(), sender }),
      random,
    });
    await expect(simulation.run(now, 1)).rejects.toBeInstanceOf(UnavailableError);
    failing = false;
    await expect(simulation.run(now + 1000, 1)).resolves.toMatchObject({ published: 1 });
  });

  it('catches up, one second apart, the seconds a failed scheduled run left unpublished', async () => {
    const random = createSeededRandom(5);
    let sends = 0;
    const times: number[] = [];
    const sender = {
      send: async (_topic: string, messages: KafkaMessage[]) => {
        sends += 1;
        // The broker goes away after the first tick of the first run.
        if (sends === 2) throw new UnavailableError('broker down');
        for (const message of messages) times.push(decode(message.value).value.time as number);
      },
    };
    const simulation = createSimulation({
      population: createPopulation({ patients: 1, wards: ['icu'] }, random),
      publisher: createReadingPublisher({ registry: fakeRegistry(), sender }),
      random,
    });
    const handler = makeHandler({ simulation, now: () => clock, ticks: 3 });
    let clock = now;
    await expect(handler()).rejects.toBeInstanceOf(UnavailableError);
    expect(times).toEqual([now - 2000]);
    clock = now + 3000;
    await expect(handler()).resolves.toMatchObject({ ticks: 5, published: 5 });
    // A second call within the same second has nothing new to publish.
    clock = now + 3500;
    await expect(handler()).resolves.toMatchObject({ ticks: 0, published: 0 });
    clock = now + 6000;
    await expect(handler()).resolves.toMatchObject({ ticks: 3, published: 3 });
    expect(times).toEqual(Array.from({ length: 9 }, (_, index) => now - 2000 + index * 1000));
  });

  it('publishes at most ten runs of missed seconds after a long outage, and says how many it skipped', async () => {
    const random = createSeededRandom(6);
    const sender = fakeSender();
    const simulation = createSimulation({
      population: createPopulation({ patients: 1, wards: ['icu'] }, random),
      publisher: createReadingPublisher({ registry: fakeRegistry(), sender }),
      random,
    });
    let clock = now;
    const handler = makeHandler({ simulation, now: () => clock, ticks: 2 });
    await handler();
    clock = now + 100_000;
    const warn = jest.spyOn(logger, 'warn');
    try {
      await expect(handler()).resolves.toMatchObject({ ticks: 20, published: 20 });
      expect(warn).toHaveBeenCalledWith('biometrics not simulated: too far behind to catch up', {
        skipped: 80,
      });
    } finally {
      warn.mockRestore();
    }
    const times = sender.sent.flatMap(({ messages }) =>
      messages.map((message) => decode(message.value).value.time),
    );
    expect(times.slice(-20)).toEqual(Array.from({ length: 20 }, (_, index) => now + 81_000 + index * 1000));
  });

  it('declares timestamp-millis time and snake_case fields in the value schema', () => {
    const fields = BIOMETRICS_VALUE_SCHEMA.fields.map((field) => field.name);
    expect(fields).toEqual([
      'patient_id',
      'ward',
      'time',
      'heart_rate',
      'respiratory_rate',
      'spo2',
      'temperature',
      'systolic_bp',
      'diastolic_bp',
      'consciousness',
      'supplemental_oxygen',
    ]);
    expect(BIOMETRICS_VALUE_SCHEMA.fields[2]?.type).toEqual({
      type: 'long',
      logicalType: 'timestamp-millis',
    });
  });
});
