import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadMappingRegistry } from '../../../lib/fhir';
import { loadShippedMappings, SHIPPED_MAPPING_FILES } from '../../../lib/transform/shipped-mappings';

const directory = path.join(__dirname, '../../../connectors/mappings');

describe('shipped mappings', () => {
  it('bundles every mapping file of connectors/mappings', () => {
    const files = readdirSync(directory).filter((name) => name.endsWith('.json'));
    expect(Object.keys(SHIPPED_MAPPING_FILES).sort()).toEqual(files.sort());
  });

  it('compiles to the same registry as reading the directory', () => {
    const bundled = loadShippedMappings();
    const read = loadMappingRegistry(directory);
    expect([...bundled.keys()]).toEqual([...read.keys()]);
    for (const [id, compiled] of read) expect(bundled.get(id)?.columns).toEqual(compiled.columns);
  });
});
