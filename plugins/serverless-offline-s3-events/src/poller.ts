import type { S3Event } from 'aws-lambda';
import { buildObjectCreatedEvent } from '../../../lib/sources/s3-event';
import type { S3Subscription } from './config';

/** An object as ListObjectsV2 lists it. */
export type ListedObject = { key: string; eTag: string; size: number };

/** Lists every object of a bucket under a prefix (all pages). */
export type BucketLister = (bucket: string, prefix: string) => Promise<ListedObject[]>;

export type Log = {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
};

export type PollerOptions = {
  subscriptions: readonly S3Subscription[];
  list: BucketLister;
  invoke: (functionKey: string, event: S3Event) => Promise<unknown>;
  log: Log;
  now: () => Date;
  region: string;
  /** Deliver objects already there at start (S3 itself notifies only of objects created later). */
  deliverExisting: boolean;
  /** Lambda invokes S3 events asynchronously: a failed invocation is tried twice more, then dropped. */
  maxAttempts?: number;
};

type Seen = { eTag: string; attempts: number; done: boolean };

/** What one poll did. */
export type PollStats = { delivered: number; failed: number; abandoned: number };

/**
 * Delivers S3 ObjectCreated events by polling: each subscription's prefix is listed, and an object
 * not delivered yet (a new key, or a new ETag under a known key: an overwrite) is sent to the
 * function as the one-record event S3 sends. What was delivered is remembered until the object
 * disappears from the listing (the CSV source moves it away), so a key dropped again is new again.
 */
export const createS3Poller = (options: PollerOptions) => {
  const maxAttempts = options.maxAttempts ?? 3;
  const seen = options.subscriptions.map(() => new Map<string, Seen>());
  let primed = options.deliverExisting;

  const pollOnce = async (): Promise<PollStats> => {
    const stats: PollStats = { delivered: 0, failed: 0, abandoned: 0 };
    for (const [index, subscription] of options.subscriptions.entries()) {
      const memory = seen[index] as Map<string, Seen>;
      const listed = (await options.list(subscription.bucket, subscription.prefix)).filter((object) =>
        object.key.endsWith(subscription.suffix),
      );
      const present = new Set(listed.map((object) => object.key));
      for (const key of memory.keys()) if (!present.has(key)) memory.delete(key);
      for (const object of listed) {
        const known = memory.get(object.key);
        if (!primed) {
          memory.set(object.key, { eTag: object.eTag, attempts: 0, done: true });
          continue;
        }
        if (known !== undefined && known.eTag === object.eTag && known.done) continue;
        const state =
          known !== undefined && known.eTag === object.eTag
            ? known
            : { eTag: object.eTag, attempts: 0, done: false };
        memory.set(object.key, state);
        state.attempts += 1;
        const event = buildObjectCreatedEvent([{ bucket: subscription.bucket, ...object }], {
          region: options.region,
          now: options.now(),
        });
        try {
          await options.invoke(subscription.functionKey, event);
          state.done = true;
          stats.delivered += 1;
        } catch (error) {
          stats.failed += 1;
          const extra = {
            function: subscription.functionKey,
            key: object.key,
            attempt: state.attempts,
            error: String(error),
          };
          if (state.attempts >= maxAttempts) {
            state.done = true;
            stats.abandoned += 1;
            options.log.error('invocation failed; no attempt left for this object', extra);
          } else options.log.warn('invocation failed; retried on the next poll', extra);
        }
      }
    }
    if (!primed) {
      // Logged once, so a watcher (or a test) knows objects created from now on are delivered.
      const existing = seen.reduce((sum, memory) => sum + memory.size, 0);
      options.log.info('first listing done: objects already there are not delivered', { existing });
    }
    primed = true;
    return stats;
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  return {
    pollOnce,
    /**
     * Polls every `intervalMs`, one poll at a time. A listing failure is retried at the next poll
     * and logged once while it lasts (again only if the error changes), then its end: an S3
     * outage is one pair of lines, not one a second.
     */
    start(intervalMs: number): void {
      let outage: { since: Date; polls: number; error: string } | undefined;
      const tick = (): void => {
        running = pollOnce()
          .then(() => {
            if (outage === undefined) return;
            options.log.info('the bucket answers again', {
              failedPolls: outage.polls,
              seconds: Math.round((options.now().getTime() - outage.since.getTime()) / 1000),
            });
            outage = undefined;
          })
          .catch((error: unknown) => {
            const text = String(error);
            if (outage?.error !== text) {
              options.log.warn('cannot list the bucket; retried at every poll, quiet until it answers', {
                error: text,
              });
            }
            outage = { since: outage?.since ?? options.now(), polls: (outage?.polls ?? 0) + 1, error: text };
          })
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, intervalMs);
          });
      };
      tick();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};
