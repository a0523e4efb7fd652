// scripts/serverless/esbuild-plugins.js, as serverless-esbuild runs it: a function's bundle holds
// every connector file and reads no connectors directory (a Lambda package has none).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import * as textsModule from '../../../lib/connectors/texts';

const { embedConnectors } = require('../../../scripts/serverless/esbuild-plugins.js') as {
  embedConnectors(module: typeof textsModule): Plugin;
};
const ROOT = path.resolve(__dirname, '../../..');

describe('esbuild plugin embed-connectors', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(path.join(tmpdir(), 'medstream-bundle-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it("bundles the checkout's connector files in place of reading them", async () => {
    const outfile = path.join(out, 'bundle.js');
    await build({
      stdin: {
        contents: "export { CONNECTOR_KINDS, connectorTexts } from './lib/connectors/texts';",
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile,
      logLevel: 'silent',
      plugins: [embedConnectors(textsModule)],
    });
    expect(readFileSync(outfile, 'utf8')).not.toMatch(/readdirSync/);
    const bundled = require(outfile) as typeof textsModule;
    expect(bundled.CONNECTOR_KINDS).toEqual(textsModule.CONNECTOR_KINDS);
    for (const kind of textsModule.CONNECTOR_KINDS) {
      const texts = textsModule.connectorTexts(kind);
      expect(Object.keys(texts).length).toBeGreaterThan(0);
      expect(bundled.connectorTexts(kind)).toEqual(texts);
    }
  });
});
