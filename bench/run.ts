// `npm run bench -- <name> [args]`: runs bench/<name>.ts (trigger, sink, fhir) with the local stack
// up. Benchmarks print figures and write JSON to bench/results/; they assert nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const benches: Record<string, string> = { trigger: 'trigger.ts', sink: 'sink.ts', fhir: 'fhir.ts' };
const [name, ...args] = process.argv.slice(2);
const available = Object.entries(benches)
  .filter(([, file]) => existsSync(path.join(__dirname, file)))
  .map(([bench]) => bench);

if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  if (name !== undefined) console.error(`unknown benchmark: ${name}`);
  process.exit(2);
}

const root = path.resolve(__dirname, '..');
const up = spawnSync('bash', [path.join(root, 'scripts/stack.sh'), 'up'], { stdio: 'inherit' });
if (up.status !== 0) process.exit(up.status ?? 1);

const file = benches[name] ?? '';
// The Node options `npm start` gives the process that runs the Kafka trigger (see scripts/start.sh):
// ceilings and functions are measured under the same runtime settings.
const triggerNodeOptions = readFileSync(path.join(root, 'scripts/trigger.node-options'), 'utf8').trim();
const result = spawnSync('npx', ['tsx', path.join(__dirname, file), ...args], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${triggerNodeOptions}`.trim() },
});
const written = readdirSync(path.join(__dirname, 'results')).filter((entry) => entry.endsWith('.json'));
if (written.length > 0)
  console.log(`results: ${written.map((entry) => `bench/results/${entry}`).join(', ')}`);
process.exit(result.status ?? 1);
