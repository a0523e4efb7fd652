// Entry point that osls loads (plain CommonJS). The plugin itself is TypeScript, compiled on load by
// tsx's scoped require so that nothing else in the serverless process is affected. serverless-offline
// 14 is ESM-only: its lambda runner is imported here, where a real dynamic import() is available.
const { require: tsxRequire } = require('tsx/cjs/api');

const { createPlugin } = tsxRequire('./src/plugin.ts', __filename);

module.exports = createPlugin(async () => (await import('serverless-offline/lambda')).default);
