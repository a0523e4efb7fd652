import middy from '@middy/core';
import connectorFile from '../connectors/sinks/biometrics-postgres.json';
import { createAvroRegistry } from '../lib/avro/registry';
import { loadConfig } from '../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../lib/kafka/client';
import { parseSinkConnectorConfig } from '../lib/sinks/postgres/config';
import { sinkDecoders } from '../lib/sinks/postgres/decoders';
import { createSinkHandler, type SinkHandlerDeps } from '../lib/sinks/postgres/handler';
import { createSinkPool } from '../lib/sinks/postgres/pg-pool';
import { createPgChunkWriter, createPgTableStore } from '../lib/sinks/postgres/pg-store';

export type SinkPostgresDeps = SinkHandlerDeps;

/** Kafka-triggered: the JDBC-sink-compatible PostgreSQL sink, wired to the deps it is given. */
export const makeHandler = (deps: SinkPostgresDeps) => createSinkHandler(deps);

const liveDeps = (): SinkPostgresDeps => {
  const config = loadConfig();
  const connector = parseSinkConnectorConfig(connectorFile, 'connectors/sinks/biometrics-postgres.json');
  const registry = createAvroRegistry(config.SCHEMA_REGISTRY_URL);
  const pool = createSinkPool(config.DATABASE_URL);
  const tables = createPgTableStore(pool, connector);
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-sink-postgres` }),
  );
  return {
    connector,
    decoders: sinkDecoders(registry, connector.pkMode),
    tables,
    writer: createPgChunkWriter(pool, tables),
    deadLetters: createDeadLetterPublisher(producer, connector.deadLetterTopic ?? config.DLQ_TOPIC),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'sink-postgres',
  };
};

export const handler = middy(makeHandler(liveDeps()));
