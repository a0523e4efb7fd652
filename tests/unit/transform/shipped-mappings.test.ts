import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const directory = path.join(__dirname, '../../../connectors/mappings');

describe('shipped mappings', () => {
  it('are every mapping file of connectors/mappings, by the id each declares', () => {
    const ids = readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .map((name) => (JSON.parse(readFileSync(path.join(directory, name), 'utf8')) as { id: string }).id);
    expect([...loadShippedMappings().keys()].sort()).toEqual(ids.sort());
  });
});
