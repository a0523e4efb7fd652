// esbuild plugins of the functions' bundles (custom.esbuild.plugins in serverless.yml).
//
// embed-connectors: a function reads every file of connectors/mappings and connectors/sources at
// cold start (lib/connectors/texts.ts reads the directories), but a Lambda package has no
// connectors directory. The bundle gets a module of the same name holding the texts the checkout's
// module reads at build time, so adding a file there needs no code; `serverless offline` rebuilds
// when one changes or appears (its watch pattern covers connectors/).
const path = require('node:path');
const { require: tsxRequire } = require('tsx/cjs/api');

const TEXTS_MODULE = path.resolve(__dirname, '../../lib/connectors/texts.ts');
const CONNECTORS = path.resolve(__dirname, '../../connectors');

// The serverless process has no TypeScript loader: tsx's scoped require compiles the module (tests,
// which have one, pass it in).
const loadTextsModule = () => tsxRequire(TEXTS_MODULE, __filename);

const embedConnectors = (textsModule = loadTextsModule()) => ({
  name: 'medstream-embed-connectors',
  setup(build) {
    build.onLoad({ filter: /[\\/]lib[\\/]connectors[\\/]texts\.ts$/ }, (args) => {
      if (path.resolve(args.path) !== TEXTS_MODULE) return undefined;
      const { CONNECTOR_KINDS, connectorTexts } = textsModule;
      const texts = Object.fromEntries(CONNECTOR_KINDS.map((kind) => [kind, connectorTexts(kind)]));
      const watchFiles = CONNECTOR_KINDS.flatMap((kind) =>
        Object.keys(texts[kind]).map((name) => path.join(CONNECTORS, kind, name)),
      );
      return {
        contents: [
          `export const CONNECTOR_KINDS = ${JSON.stringify(CONNECTOR_KINDS)};`,
          `const TEXTS = ${JSON.stringify(texts)};`,
          'export const connectorTexts = (kind) => ({ ...TEXTS[kind] });',
        ].join('\n'),
        loader: 'js',
        watchFiles,
        watchDirs: CONNECTOR_KINDS.map((kind) => path.join(CONNECTORS, kind)),
      };
    });
  },
});

// serverless-esbuild calls an exported function for the plugins of every build.
module.exports = () => [embedConnectors()];
module.exports.embedConnectors = embedConnectors;
