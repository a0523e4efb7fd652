type Dict = Record<string, unknown>;

/** One `s3` event of a function: which created objects it is notified of. */
export type S3Subscription = {
  functionKey: string;
  bucket: string;
  prefix: string;
  suffix: string;
};

/** A function's `s3` event the plugin cannot deliver locally, with the reason. */
export type SkippedEvent = { functionKey: string; reason: string };

const isDict = (value: unknown): value is Dict =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// The framework's default event for `s3` is s3:ObjectCreated:*; only creations are polled for.
const CREATED = /^s3:ObjectCreated:(\*|Put|Post|Copy|CompleteMultipartUpload)$/;

/**
 * Reads a function's `s3` events as the framework defines them: `s3: bucket` or `s3: { bucket,
 * event, rules: [{ prefix }, { suffix }], existing }`. Buckets given as CloudFormation references
 * and non-creation events cannot be polled for and are reported as skipped.
 */
export const collectS3Subscriptions = (
  functions: readonly { functionKey: string; events: unknown }[],
): { subscriptions: S3Subscription[]; skipped: SkippedEvent[] } => {
  const subscriptions: S3Subscription[] = [];
  const skipped: SkippedEvent[] = [];
  for (const { functionKey, events } of functions) {
    for (const event of Array.isArray(events) ? events : []) {
      if (!isDict(event) || event.s3 === undefined) continue;
      const body: Dict =
        typeof event.s3 === 'string' ? { bucket: event.s3 } : isDict(event.s3) ? event.s3 : {};
      if (typeof body.bucket !== 'string' || body.bucket.length === 0) {
        skipped.push({ functionKey, reason: 'the bucket is not a plain name' });
        continue;
      }
      const kind = typeof body.event === 'string' ? body.event : 's3:ObjectCreated:*';
      if (!CREATED.test(kind)) {
        skipped.push({
          functionKey,
          reason: `only ObjectCreated events are delivered locally (got ${kind})`,
        });
        continue;
      }
      const rules = Array.isArray(body.rules) ? body.rules.filter(isDict) : [];
      const ruleOf = (name: 'prefix' | 'suffix'): string => {
        const value = rules.find((rule) => typeof rule[name] === 'string')?.[name];
        return typeof value === 'string' ? value : '';
      };
      subscriptions.push({
        functionKey,
        bucket: body.bucket,
        prefix: ruleOf('prefix'),
        suffix: ruleOf('suffix'),
      });
    }
  }
  return { subscriptions, skipped };
};
