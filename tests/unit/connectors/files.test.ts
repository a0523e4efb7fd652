import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readConnectorFiles } from '../../../lib/connectors/files';
import { connectorTexts } from '../../../lib/connectors/texts';
import { ConfigError } from '../../../lib/errors';

describe('connector files', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'medstream-connectors-'));
    mkdirSync(path.join(root, 'sources'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads every *.json of the kind, sorted by file name, nothing else', () => {
    writeFileSync(path.join(root, 'sources', 'b.json'), '{"name":"b"}');
    writeFileSync(path.join(root, 'sources', 'a.json'), '{"name":"a"}');
    writeFileSync(path.join(root, 'sources', 'README.md'), '# not a connector');
    const texts = connectorTexts('sources', root);
    expect(Object.keys(texts)).toEqual(['a.json', 'b.json']);
    expect(readConnectorFiles('sources', texts)).toEqual({
      'a.json': { name: 'a' },
      'b.json': { name: 'b' },
    });
  });

  it('names the file that is not JSON', () => {
    const read = () => readConnectorFiles('mappings', { 'ok.json': '{}', 'broken.json': '{"id": ' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/^connectors\/mappings\/broken\.json: not JSON \(/);
  });
});
