import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { WARD_PATTERN, WARD_RULE } from '../lib/biometrics/schema';
import { BrokerListSchema, type Config, PostgresUrlSchema, parseConfig } from '../lib/config';

/** What `medstream configure` stores: where the services are. Kept in `.medstream.json` (git-ignored). */
export const SettingsSchema = z
  .object({
    kafkaBrokers: BrokerListSchema,
    schemaRegistryUrl: z.string().url(),
    databaseUrl: PostgresUrlSchema,
    connectUrl: z.string().url(),
    patients: z.number().int().min(1).max(100_000),
    wards: z.array(z.string().regex(WARD_PATTERN, WARD_RULE)).min(1),
    seed: z.number().int(),
  })
  .strict();

export type Settings = z.infer<typeof SettingsSchema>;

export const DEFAULT_SETTINGS_FILE = '.medstream.json';

export const DEFAULT_SETTINGS: Settings = {
  kafkaBrokers: '127.0.0.1:9092',
  schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
  databaseUrl: 'postgres://medstream:medstream@127.0.0.1:5432/medstream_sink',
  connectUrl: 'http://127.0.0.1:8083',
  patients: 20,
  wards: ['default'],
  seed: 42,
};

/** The Kafka Connect REST URL: KAFKA_CONNECT_URL wins over the settings, like the other variables. */
export const connectUrlOf = (
  env: Record<string, string | undefined>,
  settings: Settings = DEFAULT_SETTINGS,
) => (env.KAFKA_CONNECT_URL ?? settings.connectUrl).replace(/\/$/, '');

/** A schema's verdict on settings, or an error naming the file and each bad field. */
const validated = <T>(file: string, schema: z.ZodType<T>, data: unknown): T => {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new Error(
    `${file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'file'}: ${issue.message}`).join('; ')}`,
  );
};

/** Why a value cannot be that setting (what the prompt says), or undefined when it can. */
export const settingProblem = <K extends keyof Settings>(key: K, value: unknown): string | undefined => {
  const parsed = SettingsSchema.shape[key].safeParse(value);
  return parsed.success ? undefined : parsed.error.issues.map((issue) => issue.message).join('; ');
};

/**
 * Reads the settings file (defaults for what it lacks); a malformed file fails with the reason. A
 * missing file means the defaults, unless the user named it (`required`): a typo in `--config` must
 * not quietly run against the local stack.
 */
export const readSettings = (file: string, options: { required?: boolean } = {}): Settings => {
  if (!existsSync(file)) {
    if (options.required)
      throw new Error(`${file}: no such settings file (\`medstream --config ${file} configure\` writes it)`);
    return DEFAULT_SETTINGS;
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return { ...DEFAULT_SETTINGS, ...validated(file, SettingsSchema.partial(), data) };
};

/** Writes the settings file (owner-only: it holds the database password); refuses invalid settings. */
export const writeSettings = (file: string, settings: Settings): void => {
  writeFileSync(file, `${JSON.stringify(validated(file, SettingsSchema, settings), null, 2)}\n`, {
    mode: 0o600,
  });
  chmodSync(file, 0o600);
};

/** A URL with its password replaced, for anything printed. */
export const redactUrl = (url: string): string => url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1****@');

/** The settings as the rest of medstream reads them: environment variables win over the file. */
export const toConfig = (settings: Settings, env: Record<string, string | undefined>): Config =>
  parseConfig({
    KAFKA_BROKERS: settings.kafkaBrokers,
    SCHEMA_REGISTRY_URL: settings.schemaRegistryUrl,
    DATABASE_URL: settings.databaseUrl,
    SIMULATOR_PATIENTS: String(settings.patients),
    SIMULATOR_WARDS: settings.wards.join(','),
    SIMULATOR_SEED: String(settings.seed),
    ...Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)),
  });
