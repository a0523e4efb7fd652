import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The folders of `connectors/` whose every file a function reads at cold start. */
export const CONNECTOR_KINDS = ['mappings', 'sources'] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

const ROOT = path.resolve(__dirname, '../../connectors');

/**
 * The `*.json` files of `connectors/<kind>/` as text, by file name, sorted. Read from the checkout
 * here (tests, CLI, benchmarks). A function's bundle has no connectors directory: the build
 * replaces this module with one holding the same texts, read when it bundles
 * (scripts/serverless/esbuild-plugins.js), so the files stay data: adding one needs no code.
 */
export const connectorTexts = (kind: ConnectorKind, root: string = ROOT): Record<string, string> => {
  const directory = path.join(root, kind);
  return Object.fromEntries(
    readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => [name, readFileSync(path.join(directory, name), 'utf8')]),
  );
};
