import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The HTTP the Connect client needs (global fetch, or a stub in tests). */
export type Fetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string },
) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
  text(): Promise<string>;
}>;

export type ConnectorFile = { file: string; name: string; config: Record<string, string> };

/** Reads connector files (`{name, config}` or flat Connect properties) into name + string config. */
export const readConnectorFiles = (paths: readonly string[]): ConnectorFile[] =>
  paths
    .flatMap((entry) =>
      entry.endsWith('.json')
        ? [entry]
        : readdirSync(entry)
            .filter((file) => file.endsWith('.json'))
            .map((file) => path.join(entry, file)),
    )
    .map((file) => {
      const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const flat = (typeof json.config === 'object' && json.config !== null ? json.config : json) as Record<
        string,
        unknown
      >;
      const name = String(json.name ?? flat.name ?? '');
      if (name.length === 0) throw new Error(`${file}: a connector needs a name`);
      const config = Object.fromEntries(Object.entries(flat).map(([key, value]) => [key, String(value)]));
      return { file, name, config: { ...config, name } };
    });

const MISSING_CLASS = /^Failed to find any class that implements Connector and which name matches ([^\s,]+)/;

/**
 * What Kafka Connect said, readably: the `message` of its JSON error rather than the whole body, and
 * for an unknown connector class (a wall of Java `PluginDesc{…}`) the class and the installed ones.
 */
export const connectErrorText = (body: string): string => {
  let message: unknown;
  try {
    message = (JSON.parse(body) as { message?: unknown }).message;
  } catch {
    return body;
  }
  if (typeof message !== 'string') return body;
  const missing = MISSING_CLASS.exec(message);
  if (!missing) return message;
  const installed = [...message.matchAll(/klass=class ([^\s,}]+)/g)].map((match) => match[1]);
  return `the worker has no connector class ${missing[1]} (its plugins: ${installed.join(', ') || 'none'})`;
};

export type ConnectorStatus = {
  name: string;
  state: string;
  tasks: { id: number; state: string; trace?: string }[];
};

/**
 * Kafka Connect's REST API: PUT /connectors/{name}/config creates or updates a connector, so
 * applying the same file twice changes nothing; GET …/status reports the connector and its tasks.
 */
export const createConnectClient = (baseUrl: string, fetchImpl: Fetch) => {
  const url = (suffix: string) => `${baseUrl.replace(/\/$/, '')}${suffix}`;
  const call: Fetch = async (target, init) => {
    try {
      return await fetchImpl(target, init);
    } catch (cause) {
      throw new Error(`cannot reach Kafka Connect at ${baseUrl} (${(cause as Error).message})`, { cause });
    }
  };
  return {
    async apply(connector: ConnectorFile): Promise<'created' | 'updated'> {
      const response = await call(url(`/connectors/${encodeURIComponent(connector.name)}/config`), {
        method: 'PUT',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(connector.config),
      });
      if (!response.ok)
        throw new Error(
          `Kafka Connect refused ${connector.name} (${response.status}): ${connectErrorText(await response.text())}`,
        );
      return response.status === 201 ? 'created' : 'updated';
    },
    async status(name: string): Promise<ConnectorStatus | undefined> {
      const response = await call(url(`/connectors/${encodeURIComponent(name)}/status`), {
        headers: { accept: 'application/json' },
      });
      if (response.status === 404) return undefined;
      if (!response.ok)
        throw new Error(
          `Kafka Connect status of ${name} failed (${response.status}): ${connectErrorText(await response.text())}`,
        );
      const body = (await response.json().catch(() => undefined)) as
        | { name?: unknown; connector?: { state?: unknown }; tasks?: unknown }
        | undefined;
      // Another server on the port (or a proxy's error page) must not pass for a status.
      if (typeof body?.connector?.state !== 'string' || !Array.isArray(body.tasks))
        throw new Error(`${baseUrl} did not answer as Kafka Connect does for the status of ${name}`);
      return { name, state: body.connector.state, tasks: body.tasks as ConnectorStatus['tasks'] };
    },
  };
};
