import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConnectorFiles } from '../../../lib/connectors/files';
import { resolveCsvSource } from '../../../lib/sources/csv-ingest';
import { resolveIncrementalSource } from '../../../lib/sources/incremental';
import { loadShippedSourceConnectors, parseSourceConnectors } from '../../../lib/sources/shipped-connectors';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const directory = join(__dirname, '../../../connectors/sources');

describe('connectors/sources', () => {
  it('loads every file of the directory', () => {
    const { jdbc, csv } = loadShippedSourceConnectors();
    const names = readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .map((name) => (JSON.parse(readFileSync(join(directory, name), 'utf8')) as { name: string }).name);
    expect([...jdbc, ...csv].map((config) => config.name).sort()).toEqual(names.sort());
  });

  it('parses every file strictly and resolves each against the shipped mappings', () => {
    const documents = Object.fromEntries(
      readdirSync(directory)
        .filter((name) => name.endsWith('.json'))
        .map((name) => [name, JSON.parse(readFileSync(join(directory, name), 'utf8'))]),
    );
    const connectors = parseSourceConnectors(documents);
    const registry = loadShippedMappings();
    expect(connectors.jdbc.length + connectors.csv.length).toBe(Object.keys(documents).length);
    for (const config of connectors.jdbc)
      expect(resolveIncrementalSource(config, registry).compiled).toBeDefined();
    for (const config of connectors.csv) expect(resolveCsvSource(config, registry).compiled).toBeDefined();
  });

  it('refuses a connector class it does not run, and a name used twice', () => {
    expect(() => parseSourceConnectors({ 'a.json': { name: 'a', 'connector.class': 'x.Y' } })).toThrow(
      /connector.class/,
    );
    const file = readConnectorFiles('sources')['csv-patients.json'];
    expect(() => parseSourceConnectors({ 'a.json': file, 'b.json': file })).toThrow(/used twice/);
  });
});
