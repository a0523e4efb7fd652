import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Admin } from 'kafkajs';

/**
 * The reference sink, measured in the same run as ours: the stack's Kafka Connect 3.9 worker with
 * Debezium's JDBC sink (bench/connect-reference.json: Medrical's connector in Debezium's option
 * names), reading the bench's Avro topic through the registry into PostgreSQL.
 */

export type ConnectMode = 'insert' | 'upsert';

export type ConnectRun = {
  rows: number;
  seconds: number;
  /** Why the run did not happen (no worker, no plugin); rows is 0 then. */
  skipped?: string;
};

const CONNECTOR_CLASS = 'io.debezium.connector.jdbc.JdbcSinkConnector';

/** The JDBC URL and credentials of a postgres:// URL. */
export const jdbcOf = (databaseUrl: string) => {
  const url = new URL(databaseUrl);
  return {
    'connection.url': `jdbc:postgresql://${url.host}${url.pathname}`,
    'connection.username': decodeURIComponent(url.username),
    'connection.password': decodeURIComponent(url.password),
  };
};

/** Apicurio's own API (the converter's) beside its Confluent-compatible one. */
export const apicurioApiOf = (schemaRegistryUrl: string) =>
  schemaRegistryUrl.replace(/\/apis\/ccompat\/v\d+\/?$/, '/apis/registry/v2');

/** The connector config of one run: the reference file, completed for this topic, table and mode. */
export const connectorConfigOf = (options: {
  topic: string;
  table: string;
  mode: ConnectMode;
  databaseUrl: string;
  schemaRegistryUrl: string;
}): Record<string, string> => {
  const file = JSON.parse(readFileSync(path.join(__dirname, 'connect-reference.json'), 'utf8')) as Record<
    string,
    string
  >;
  const { '//': _comment, ...reference } = file;
  const registry = apicurioApiOf(options.schemaRegistryUrl);
  return {
    ...reference,
    topics: options.topic,
    'table.name.format': options.table,
    'key.converter.apicurio.registry.url': registry,
    'value.converter.apicurio.registry.url': registry,
    ...jdbcOf(options.databaseUrl),
    ...(options.mode === 'upsert' ? { 'insert.mode': 'upsert', 'primary.key.mode': 'record_key' } : {}),
  };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the reference connector over the whole topic and times it by its consumer group's committed
 * offsets (the worker commits every 250 ms): the records committed after the first commit, over
 * the time from it to the commit that covers all `n`. The table must exist (made by the caller):
 * two tasks creating it at once collide.
 */
export const measureConnectSink = async (options: {
  connectUrl: string;
  admin: Admin;
  name: string;
  topic: string;
  table: string;
  mode: ConnectMode;
  n: number;
  databaseUrl: string;
  schemaRegistryUrl: string;
  timeoutMs?: number;
}): Promise<ConnectRun> => {
  const base = options.connectUrl.replace(/\/$/, '');
  const plugins = await fetch(`${base}/connector-plugins`)
    .then(async (response) => (response.ok ? ((await response.json()) as { class: string }[]) : []))
    .catch(() => undefined);
  if (plugins === undefined) return { rows: 0, seconds: Number.NaN, skipped: `no Kafka Connect at ${base}` };
  if (!plugins.some((plugin) => plugin.class === CONNECTOR_CLASS))
    return { rows: 0, seconds: Number.NaN, skipped: `${base} has no ${CONNECTOR_CLASS}` };

  const config = connectorConfigOf(options);
  const put = await fetch(`${base}/connectors/${options.name}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (!put.ok) throw new Error(`Kafka Connect refused ${options.name} (${put.status}): ${await put.text()}`);
  const groupId = `connect-${options.name}`;
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  let first: { at: number; committed: number } | undefined;
  try {
    for (;;) {
      const [offsets] = await options.admin.fetchOffsets({ groupId, topics: [options.topic] });
      const committed = (offsets?.partitions ?? []).reduce(
        (sum, partition) => sum + Math.max(0, Number(partition.offset)),
        0,
      );
      const now = performance.now();
      if (committed > 0 && first === undefined) first = { at: now, committed };
      // Counted from the first commit on, so both ends of the clock are commits.
      if (committed >= options.n && first !== undefined)
        return { rows: committed - first.committed, seconds: (now - first.at) / 1000 };
      if (Date.now() > deadline) {
        const status = await fetch(`${base}/connectors/${options.name}/status`).then((response) =>
          response.text(),
        );
        throw new Error(
          `${options.name}: ${committed} of ${options.n} records after the deadline; ${status}`,
        );
      }
      await sleep(50);
    }
  } finally {
    await fetch(`${base}/connectors/${options.name}`, { method: 'DELETE' }).catch(() => undefined);
  }
};
