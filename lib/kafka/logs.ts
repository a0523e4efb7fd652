import { logLevel } from 'kafkajs';

/**
 * Whether a kafkajs log line is an error of ours to report. kafkajs logs every broker response that
 * carries an error code ("Response Metadata(key: 3, …)": the topic does not exist yet, a leader is
 * moving) at ERROR before it retries; when its retries run out the call throws, and that is what we
 * report, with its context. So those lines are warnings.
 */
export const isKafkaError = (level: logLevel, message: string): boolean =>
  level <= logLevel.ERROR && !message.startsWith('Response ');
