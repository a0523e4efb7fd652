import type { S3Event } from 'aws-lambda';
import { collectS3Subscriptions } from '../../../../plugins/serverless-offline-s3-events/src/config';
import { createPlugin } from '../../../../plugins/serverless-offline-s3-events/src/plugin';
import {
  createS3Poller,
  type ListedObject,
} from '../../../../plugins/serverless-offline-s3-events/src/poller';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('collectS3Subscriptions', () => {
  it('reads the framework s3 event forms, and skips what cannot be polled', () => {
    const { subscriptions, skipped } = collectS3Subscriptions([
      {
        functionKey: 'csvSource',
        events: [
          {
            s3: {
              bucket: 'medstream-drops',
              event: 's3:ObjectCreated:*',
              existing: true,
              rules: [{ prefix: 'incoming/' }, { suffix: '.csv' }],
            },
          },
          { schedule: 'rate(1 minute)' },
        ],
      },
      { functionKey: 'plain', events: [{ s3: 'other-bucket' }] },
      { functionKey: 'removed', events: [{ s3: { bucket: 'b', event: 's3:ObjectRemoved:*' } }] },
      { functionKey: 'ref', events: [{ s3: { bucket: { Ref: 'Bucket' } } }] },
    ]);
    expect(subscriptions).toEqual([
      { functionKey: 'csvSource', bucket: 'medstream-drops', prefix: 'incoming/', suffix: '.csv' },
      { functionKey: 'plain', bucket: 'other-bucket', prefix: '', suffix: '' },
    ]);
    expect(skipped.map((skip) => skip.functionKey)).toEqual(['removed', 'ref']);
  });
});

describe('createS3Poller', () => {
  const setup = (options: { deliverExisting?: boolean; failing?: string[] } = {}) => {
    let listing: ListedObject[] = [];
    const invoked: string[] = [];
    const poller = createS3Poller({
      subscriptions: [{ functionKey: 'csvSource', bucket: 'drops', prefix: 'incoming/', suffix: '.csv' }],
      list: async () => listing,
      invoke: async (_functionKey, event: S3Event) => {
        const key = event.Records[0]?.s3.object.key ?? '';
        invoked.push(key);
        if (options.failing?.includes(key)) throw new Error('handler failed');
      },
      log: silent,
      now: () => new Date('2026-11-22T23:00:00.000Z'),
      region: 'us-east-1',
      deliverExisting: options.deliverExisting ?? false,
    });
    return {
      poller,
      invoked,
      list: (objects: [string, string][]) => {
        listing = objects.map(([key, eTag]) => ({ key, eTag, size: 1 }));
      },
    };
  };

  it('does not deliver what exists at start, then delivers each new object once', async () => {
    const { poller, invoked, list } = setup();
    list([['incoming/old.csv', 'e0']]);
    await poller.pollOnce();
    list([
      ['incoming/old.csv', 'e0'],
      ['incoming/new file.csv', 'e1'],
      ['incoming/notes.txt', 'e2'],
    ]);
    expect(await poller.pollOnce()).toEqual({ delivered: 1, failed: 0, abandoned: 0 });
    await poller.pollOnce();
    expect(invoked).toEqual(['incoming/new+file.csv']);
  });

  it('delivers existing objects when asked to', async () => {
    const { poller, invoked, list } = setup({ deliverExisting: true });
    list([['incoming/old.csv', 'e0']]);
    await poller.pollOnce();
    expect(invoked).toEqual(['incoming/old.csv']);
  });

  it('delivers an overwritten object again, and a key dropped again after it was moved away', async () => {
    const { poller, invoked, list } = setup();
    list([]);
    await poller.pollOnce();
    list([['incoming/a.csv', 'e1']]);
    await poller.pollOnce();
    list([['incoming/a.csv', 'e2']]);
    await poller.pollOnce();
    list([]);
    await poller.pollOnce();
    list([['incoming/a.csv', 'e2']]);
    await poller.pollOnce();
    expect(invoked).toEqual(['incoming/a.csv', 'incoming/a.csv', 'incoming/a.csv']);
  });

  it('retries a failed invocation on the next polls, three attempts in all, as asynchronous Lambda does', async () => {
    const { poller, invoked, list } = setup({ failing: ['incoming/bad.csv'] });
    list([]);
    await poller.pollOnce();
    list([['incoming/bad.csv', 'e1']]);
    const stats = [
      await poller.pollOnce(),
      await poller.pollOnce(),
      await poller.pollOnce(),
      await poller.pollOnce(),
    ];
    expect(invoked).toEqual(['incoming/bad.csv', 'incoming/bad.csv', 'incoming/bad.csv']);
    expect(stats.map((stat) => stat.abandoned)).toEqual([0, 0, 1, 0]);
  });

  it('logs a listing outage once while it lasts (again if the error changes), then its end', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-22T23:00:00.000Z') });
    try {
      const lines: [string, string, Record<string, unknown> | undefined][] = [];
      const answers = ['refused', 'refused', 'refused', 'timeout', 'refused', 'ok', 'ok', 'refused'];
      const poller = createS3Poller({
        subscriptions: [{ functionKey: 'csvSource', bucket: 'drops', prefix: 'incoming/', suffix: '.csv' }],
        list: async () => {
          const answer = answers.shift() ?? 'ok';
          if (answer !== 'ok') throw new Error(`connect ${answer}`);
          return [];
        },
        invoke: async () => undefined,
        log: {
          info: (message, extra) => lines.push(['info', message, extra]),
          warn: (message, extra) => lines.push(['warn', message, extra]),
          error: (message, extra) => lines.push(['error', message, extra]),
        },
        now: () => new Date(),
        region: 'us-east-1',
        deliverExisting: false,
      });
      poller.start(1000);
      await jest.advanceTimersByTimeAsync(8_500);
      await poller.stop();
      const outage = 'cannot list the bucket; retried at every poll, quiet until it answers';
      expect(lines.filter(([, message]) => !message.startsWith('first listing'))).toEqual([
        ['warn', outage, { error: 'Error: connect refused' }],
        ['warn', outage, { error: 'Error: connect timeout' }],
        ['warn', outage, { error: 'Error: connect refused' }],
        ['info', 'the bucket answers again', { failedPolls: 5, seconds: 5 }],
        ['warn', outage, { error: 'Error: connect refused' }],
        ['info', 'the bucket answers again', { failedPolls: 1, seconds: 1 }],
      ]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('the S3 events plugin', () => {
  it('hooks serverless-offline start and end, and the rebuild of the handlers', () => {
    const Plugin = createPlugin(async () => {
      throw new Error('not loaded in a unit test');
    });
    const service = { provider: {}, getAllFunctions: () => [], getFunction: () => ({}) };
    expect(Object.keys(new Plugin({ service }).hooks).sort()).toEqual([
      'before:offline:start',
      'offline:functionsUpdated:cleanup',
      'offline:start:end',
      'offline:start:init',
    ]);
  });
});
