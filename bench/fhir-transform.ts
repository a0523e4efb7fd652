// Transform throughput of the FHIR mapping engine on one core: generated MIMIC rows (selected in
// memory, untimed) -> grouped by key -> FHIR resources, per shipped mapping. Target: >= 20,000
// rows/s per core. `npx tsx bench/fhir-transform.ts [--patients N]`; bench/fhir.ts may import it.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateClinicalDataset } from '../lib/clinical/generate';
import { groupRowsByKey, type SourceRow, selectRowsInMemory, transformRows } from '../lib/fhir';
import { createSeededRandom } from '../lib/random';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';

export type TransformFigures = {
  mapping: string;
  rows: number;
  resources: number;
  ms: number;
  rowsPerSecond: number;
};

/** Measures transform rows/s per mapping and overall, on this thread (one core). */
export const measureFhirTransform = (
  patients: number,
): { perMapping: TransformFigures[]; total: TransformFigures } => {
  const dataset = generateClinicalDataset({ patients }, createSeededRandom(20_000));
  const registry = loadShippedMappings();
  const now = new Date();
  const perMapping: TransformFigures[] = [];
  for (const [id, compiled] of registry) {
    const rows: SourceRow[] = selectRowsInMemory(compiled, dataset);
    // Warm-up pass so the JIT has compiled the hot paths before the timed pass.
    for (const group of groupRowsByKey(compiled, rows.slice(0, 2_000)))
      transformRows(compiled, group.rows, now);
    const started = process.hrtime.bigint();
    let resources = 0;
    for (const group of groupRowsByKey(compiled, rows)) {
      transformRows(compiled, group.rows, now);
      resources += 1;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    perMapping.push({
      mapping: id,
      rows: rows.length,
      resources,
      ms,
      rowsPerSecond: Math.round((rows.length / ms) * 1000),
    });
  }
  const rows = perMapping.reduce((sum, entry) => sum + entry.rows, 0);
  const ms = perMapping.reduce((sum, entry) => sum + entry.ms, 0);
  const resources = perMapping.reduce((sum, entry) => sum + entry.resources, 0);
  return {
    perMapping,
    total: { mapping: 'all', rows, resources, ms, rowsPerSecond: Math.round((rows / ms) * 1000) },
  };
};

if (require.main === module) {
  const index = process.argv.indexOf('--patients');
  const patients = index === -1 ? 2_000 : Number(process.argv[index + 1]);
  const figures = measureFhirTransform(patients);
  for (const entry of [...figures.perMapping, figures.total]) {
    console.log(
      `${entry.mapping.padEnd(32)} ${String(entry.rows).padStart(9)} rows ${String(entry.resources).padStart(9)} resources ` +
        `${entry.ms.toFixed(0).padStart(7)} ms ${String(entry.rowsPerSecond).padStart(8)} rows/s`,
    );
  }
  console.log(`transform: ${figures.total.rowsPerSecond} rows/s on one core (target >= 20000)`);
  writeFileSync(
    path.join(__dirname, 'results/fhir-transform.json'),
    `${JSON.stringify({ patients, at: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
}
