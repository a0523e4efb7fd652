import { readConnectorFiles } from '../connectors/files';
import { ConfigError } from '../errors';
import { CSV_SOURCE_CLASS, type CsvSourceConfig, parseCsvSourceConfig } from './csv-config';
import { JDBC_SOURCE_CLASSES, type JdbcSourceConfig, parseJdbcSourceConfig } from './jdbc-config';

/** Source connector files sorted by kind, each parsed strictly. */
export type SourceConnectors = { jdbc: JdbcSourceConfig[]; csv: CsvSourceConfig[] };

const classOf = (document: unknown): unknown => {
  if (typeof document !== 'object' || document === null) return undefined;
  const object = document as { config?: { 'connector.class'?: unknown }; 'connector.class'?: unknown };
  return object.config?.['connector.class'] ?? object['connector.class'];
};

/** Parses source connector files by their connector.class; a class medstream does not run is an error. */
export const parseSourceConnectors = (files: Readonly<Record<string, unknown>>): SourceConnectors => {
  const connectors: SourceConnectors = { jdbc: [], csv: [] };
  const names = new Set<string>();
  for (const [file, document] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const connectorClass = classOf(document);
    let name: string;
    if ((JDBC_SOURCE_CLASSES as readonly unknown[]).includes(connectorClass)) {
      const config = parseJdbcSourceConfig(document, file);
      connectors.jdbc.push(config);
      name = config.name;
    } else if (connectorClass === CSV_SOURCE_CLASS) {
      const config = parseCsvSourceConfig(document, file);
      connectors.csv.push(config);
      name = config.name;
    } else {
      throw new ConfigError(
        `${file}: connector.class must be one of ${[...JDBC_SOURCE_CLASSES, CSV_SOURCE_CLASS].join(', ')}`,
      );
    }
    if (names.has(name)) throw new ConfigError(`${file}: connector name ${name} is used twice`);
    names.add(name);
  }
  return connectors;
};

/** The source connectors of `connectors/sources/`, bundled at build time, parsed (once, at cold start). */
export const loadShippedSourceConnectors = (): SourceConnectors =>
  parseSourceConnectors(readConnectorFiles('sources'));
