import { ConfigError } from '../errors';
import { type ConnectorKind, connectorTexts } from './texts';

/**
 * The files of `connectors/<kind>/`, each parsed as JSON, by file name (sorted). A file that is
 * not JSON is a configuration error naming it; what each document means is its reader's to check.
 */
export const readConnectorFiles = (
  kind: ConnectorKind,
  texts: Readonly<Record<string, string>> = connectorTexts(kind),
): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(texts).map(([name, text]) => {
      try {
        return [name, JSON.parse(text) as unknown];
      } catch (error) {
        throw new ConfigError(
          `connectors/${kind}/${name}: not JSON (${error instanceof Error ? error.message : String(error)})`,
          { cause: error },
        );
      }
    }),
  );
