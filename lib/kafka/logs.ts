import { type logCreator, logLevel } from 'kafkajs';

/**
 * Whether a kafkajs log line is an error of ours to report. kafkajs logs every broker response that
 * carries an error code ("Response Metadata(key: 3, …)": the topic does not exist yet, a leader is
 * moving) at ERROR before it retries; when its retries run out the call throws, and that is what we
 * report, with its context. So those lines are warnings.
 */
export const isKafkaError = (level: logLevel, message: string): boolean =>
  level <= logLevel.ERROR && !message.startsWith('Response ');

/**
 * A topic's metadata while the broker creates it (a producer's first send to a new topic, with
 * auto-creation): kafkajs logs the response and asks again, which is how creation works, not a
 * problem; if the topic never comes, the call throws and that is reported.
 */
const TOPIC_BEING_CREATED = new Set([
  'This server does not host this topic-partition',
  'There is no leader for this topic-partition as we are in the middle of a leadership election',
]);

/** Whether a kafkajs line only says that a topic is being created (see TOPIC_BEING_CREATED). */
export const isTopicBeingCreated = (message: string, error: unknown): boolean =>
  message.startsWith('Response Metadata(') && TOPIC_BEING_CREATED.has(String(error));

export type RepeatVerdict = { write: false } | { write: true; heldBack: number };

/**
 * While a broker is down, kafkajs logs every failed connection attempt of every retry of every
 * client: a dozen long lines a second under `npm start`, where nothing else can be read. A message
 * written within the last `windowMs` is held back and counted; the first one written after the
 * window says how many were held back since (`heldBack`). One filter is shared by the clients of a
 * process, so the same broker error from many consumers is one line. Numbers do not tell messages
 * apart (a retry's delay, an attempt count).
 */
export const createRepeatFilter = (
  options: { windowMs?: number; now?: () => number } = {},
): ((message: string) => RepeatVerdict) => {
  const windowMs = options.windowMs ?? 30_000;
  const now = options.now ?? Date.now;
  const written = new Map<string, { at: number; heldBack: number }>();
  return (text) => {
    const at = now();
    // "Restarting the consumer in 9176ms", "… in 13192ms": the same message.
    const message = text.replace(/\d+/g, '#');
    const last = written.get(message);
    if (last && at - last.at < windowMs) {
      last.heldBack += 1;
      return { write: false };
    }
    written.set(message, { at, heldBack: 0 });
    if (written.size > 1000) {
      // Messages carry ids now and then (a member id, a request): keep the map small.
      for (const [key, entry] of written) if (at - entry.at >= windowMs) written.delete(key);
    }
    return { write: true, heldBack: last?.heldBack ?? 0 };
  };
};

const processFilter = createRepeatFilter();

/**
 * kafkajs' logCreator for a client whose lines go to `report`: errors of ours as errors, the rest
 * as warnings, repeats held back by the process-wide filter above.
 */
export const kafkajsLogCreator =
  (
    report: (severity: 'error' | 'warn', message: string, extra: Record<string, unknown>) => void,
    filter: (message: string) => RepeatVerdict = processFilter,
  ): logCreator =>
  () =>
  ({ level, log }) => {
    const { message, ...extra } = log;
    if (isTopicBeingCreated(message, extra.error)) return;
    const verdict = filter(message);
    if (!verdict.write) return;
    const details = verdict.heldBack > 0 ? { ...extra, heldBack: verdict.heldBack } : extra;
    report(isKafkaError(level, message) ? 'error' : 'warn', `kafkajs: ${message}`, details);
  };
