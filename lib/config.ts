import { z } from 'zod';
import { WARD_PATTERN, WARD_RULE } from './biometrics/schema';
import { ConfigError } from './errors';

/** One bootstrap server: `host:port` (`[v6-address]:port`), as Kafka clients take it. */
const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[^\s:,[\]/]+):\d{1,5}$/;

const splitBrokers = (value: string) => value.split(',').map((broker) => broker.trim());

/** Kafka bootstrap servers: `host:port`, comma-separated. */
export const BrokerListSchema = z
  .string()
  .refine((value) => splitBrokers(value).every((broker) => BROKER.test(broker)), {
    message: 'must be host:port, comma-separated (e.g. 127.0.0.1:9092)',
  });

/** A PostgreSQL connection URL: what node-postgres takes as its connection string. */
export const PostgresUrlSchema = z
  .string()
  .url()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), {
    message: 'must be a postgres:// or postgresql:// URL',
  });

/**
 * Every setting medstream reads from the environment, parsed once at cold start. The defaults are
 * the native local stack (`npm run stack:up`); point a variable at an existing service (MSK,
 * Confluent Cloud, Atlas, RDS) and the same code runs against it.
 */
const EnvSchema = z.object({
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092').pipe(BrokerListSchema).transform(splitBrokers),
  KAFKA_CLIENT_ID: z.string().min(1).default('medstream'),
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  MONGODB_URI: z.string().min(1).default('mongodb://127.0.0.1:27017/?directConnection=true'),
  MONGODB_DATABASE: z.string().min(1).default('medstream'),
  DATABASE_URL: z
    .string()
    .default('postgres://medstream:medstream@127.0.0.1:5432/medstream_sink')
    .pipe(PostgresUrlSchema),
  CLINICAL_DATABASE_URL: z
    .string()
    .default('postgres://medstream:medstream@127.0.0.1:5432/clinical')
    .pipe(PostgresUrlSchema),
  AWS_ENDPOINT_URL: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DLQ_TOPIC: z.string().min(1).default('medstream.dlq'),
  /** Resources (primary keys) per page an extract reads and publishes at a time. */
  EXTRACT_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
  SIMULATOR_PATIENTS: z.coerce.number().int().min(1).max(100_000).default(20),
  SIMULATOR_WARDS: z
    .string()
    .default('default')
    .transform((value) =>
      value
        .split(',')
        .map((ward) => ward.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(WARD_PATTERN, WARD_RULE)).min(1, 'at least one ward is required')),
  SIMULATOR_SEED: z.coerce.number().int().default(42),
  SIMULATOR_TICKS: z.coerce.number().int().min(1).max(600).default(1),
});

export type Config = z.infer<typeof EnvSchema>;

/** Parses an environment; throws a ConfigError that names every missing or invalid variable. */
export const parseConfig = (env: Record<string, string | undefined>): Config => {
  const result = EnvSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`invalid medstream configuration: ${problems.join('; ')}`);
};

let cached: Config | undefined;

/** The process configuration, parsed on first use (cold start) and then reused. */
export const loadConfig = (): Config => {
  cached ??= parseConfig(process.env);
  return cached;
};
