import { Logger } from '@aws-lambda-powertools/logger';

/** The one structured logger. Never log patient values: log ids, counts and correlation ids. */
export const logger = new Logger({ serviceName: 'medstream' });

/** Correlation id of a Kafka record, as used in every log line about it. */
export const correlationIdOf = (record: {
  topic: string;
  partition: number;
  offset: string | number;
}): string => `${record.topic}-${record.partition}-${record.offset}`;
