import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSinkConnectorConfig } from '../../../lib/sinks/postgres/config';

const dir = join(__dirname, '../../../connectors/sinks');

describe('connectors/sinks', () => {
  it.each(readdirSync(dir).filter((file) => file.endsWith('.json')))('parses %s strictly', (file) => {
    const parsed = parseSinkConnectorConfig(JSON.parse(readFileSync(join(dir, file), 'utf8')), file);
    expect(parsed.name.length).toBeGreaterThan(0);
  });
});
