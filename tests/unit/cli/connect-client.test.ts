import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  connectErrorText,
  createConnectClient,
  type Fetch,
  readConnectorFiles,
} from '../../../cli/connect-client';

type Call = { url: string; method: string; body?: unknown };

/**
 * A stub of Kafka Connect's REST API for the client's requests and answers: it keeps connectors in
 * memory. tests/integration/cli/connectors.test.ts runs the CLI against the stack's real worker.
 */
const stubConnect = () => {
  const connectors = new Map<string, Record<string, string>>();
  const calls: Call[] = [];
  const fetch: Fetch = async (url, init = {}) => {
    const method = init.method ?? 'GET';
    calls.push({ url, method, ...(init.body === undefined ? {} : { body: JSON.parse(init.body) }) });
    const match = /\/connectors\/([^/]+)\/(config|status)$/.exec(url);
    const name = decodeURIComponent(match?.[1] ?? '');
    const reply = (status: number, body: unknown) => ({
      ok: status < 300,
      status,
      json: async () => body,
      text: async () => JSON.stringify(body),
    });
    if (match?.[2] === 'config' && method === 'PUT') {
      const existed = connectors.has(name);
      connectors.set(name, JSON.parse(init.body ?? '{}'));
      return reply(existed ? 200 : 201, { name, config: connectors.get(name) });
    }
    if (match?.[2] === 'status') {
      if (!connectors.has(name))
        return reply(404, { error_code: 404, message: `Connector ${name} not found` });
      return reply(200, {
        name,
        connector: { state: 'RUNNING', worker_id: 'w:8083' },
        tasks: [{ id: 0, state: 'RUNNING', worker_id: 'w:8083' }],
      });
    }
    return reply(405, {});
  };
  return { fetch, calls, connectors };
};

const connectorFile = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'medstream-cli-'));
  const file = path.join(dir, 'sink.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'biometrics-postgres',
      config: {
        'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
        'tasks.max': 2,
        'topics.regex': 'biometrics_(.*)',
      },
    }),
  );
  return { dir, file };
};

describe('Kafka Connect client (requests and answers, against a stub)', () => {
  it('applies a connector with PUT /connectors/{name}/config, creating it once and then updating it', async () => {
    const stub = stubConnect();
    const client = createConnectClient('http://connect:8083/', stub.fetch);
    const [connector] = readConnectorFiles([connectorFile().file]);
    if (connector === undefined) throw new Error('no connector read');
    await expect(client.apply(connector)).resolves.toBe('created');
    await expect(client.apply(connector)).resolves.toBe('updated');
    expect(stub.connectors.size).toBe(1);
    expect(stub.calls[0]).toEqual({
      url: 'http://connect:8083/connectors/biometrics-postgres/config',
      method: 'PUT',
      body: {
        'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
        'tasks.max': '2',
        'topics.regex': 'biometrics_(.*)',
        name: 'biometrics-postgres',
      },
    });
  });

  it('reports the connector and task states, and undefined for a connector that is not deployed', async () => {
    const stub = stubConnect();
    const client = createConnectClient('http://connect:8083', stub.fetch);
    await expect(client.status('biometrics-postgres')).resolves.toBeUndefined();
    const [connector] = readConnectorFiles([connectorFile().dir]);
    if (connector === undefined) throw new Error('no connector read');
    await client.apply(connector);
    await expect(client.status('biometrics-postgres')).resolves.toEqual({
      name: 'biometrics-postgres',
      state: 'RUNNING',
      tasks: [{ id: 0, state: 'RUNNING', worker_id: 'w:8083' }],
    });
  });

  it.each([
    ['another JSON shape', async () => [] as unknown],
    ['a page that is not JSON', async () => Promise.reject(new SyntaxError('Unexpected token <'))],
  ])('says so when the server answers a status with %s', async (_, json) => {
    const fetch: Fetch = async () => ({ ok: true, status: 200, json, text: async () => '' });
    const client = createConnectClient('http://localhost:3000', fetch);
    await expect(client.status('biometrics-postgres')).rejects.toThrow(
      'http://localhost:3000 did not answer as Kafka Connect does for the status of biometrics-postgres',
    );
  });

  it("says which connector class the worker lacks, not Connect's whole plugin dump", async () => {
    // Kafka Connect 3.9's answer to a PUT naming a class it has no plugin for (abridged to two).
    const message =
      "Failed to find any class that implements Connector and which name matches io.confluent.connect.jdbc.JdbcSinkConnector, available connectors are: PluginDesc{klass=class io.debezium.connector.jdbc.JdbcSinkConnector, name='io.debezium.connector.jdbc.JdbcSinkConnector', version='3.1.2.Final', type=sink, location='file:/x/'}, PluginDesc{klass=class org.apache.kafka.connect.file.FileStreamSinkConnector, name='org.apache.kafka.connect.file.FileStreamSinkConnector', version='3.9.2', type=sink, location='classpath'}";
    const body = JSON.stringify({ error_code: 500, message });
    const fetch: Fetch = async () => ({
      ok: false,
      status: 500,
      json: async () => JSON.parse(body),
      text: async () => body,
    });
    const client = createConnectClient('http://localhost:8083', fetch);
    await expect(client.apply({ file: 'f.json', name: 'sink', config: {} })).rejects.toThrow(
      'Kafka Connect refused sink (500): the worker has no connector class io.confluent.connect.jdbc.JdbcSinkConnector (its plugins: io.debezium.connector.jdbc.JdbcSinkConnector, org.apache.kafka.connect.file.FileStreamSinkConnector)',
    );
    // Other errors: Connect's message; a body that is not Connect's JSON: as it came.
    expect(connectErrorText('{"error_code":400,"message":"Connector configuration is invalid"}')).toBe(
      'Connector configuration is invalid',
    );
    expect(connectErrorText('<html>Bad Gateway</html>')).toBe('<html>Bad Gateway</html>');
    expect(connectErrorText('{"error":"x"}')).toBe('{"error":"x"}');
  });

  it('reads the project connector files', () => {
    const files = readConnectorFiles([path.join(__dirname, '../../../connectors/sinks')]);
    expect(files.map((file) => file.name).sort()).toEqual([
      'biometrics-postgres',
      'biometrics-postgres-connect',
    ]);
  });
});
