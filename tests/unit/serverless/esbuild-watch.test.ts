// serverless.yml custom.esbuild.watch, as serverless-esbuild hands it to chokidar under
// `serverless offline`: the handlers' sources (connectors/ included: mappings and connector configs
// are bundled) are watched, the local stack's data is not.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

type Watcher = {
  on(event: string, listener: (...args: string[]) => void): Watcher;
  getWatched(): Record<string, string[]>;
  close(): Promise<void>;
};
// The chokidar serverless-esbuild itself resolves.
const chokidar = createRequire(require.resolve('serverless-esbuild'))('chokidar') as {
  watch(patterns: string[], options: Record<string, unknown>): Watcher;
};

const ROOT = path.resolve(__dirname, '../../..');
const { watch } = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8')).custom.esbuild as {
  watch: { pattern: string[]; ignore: string[] };
};

describe('serverless-esbuild watch', () => {
  let dir: string;
  let watcher: Watcher | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'medstream-watch-'));
    for (const file of [
      'functions/sink.ts',
      'lib/sinks/pg.ts',
      'connectors/sinks/sink.json',
      '.stack/pg/data/base/1/16384',
      'tests/a.test.ts',
    ]) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), '');
    }
  });
  afterEach(async () => {
    await watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees a change to a handler source or a connector file and never walks the stack data', async () => {
    // As serverless-esbuild calls it, from the service directory.
    watcher = chokidar.watch(
      watch.pattern.map((pattern) => path.join(dir, pattern)),
      { ignored: watch.ignore.map((ignored) => path.join(dir, ignored)), ignoreInitial: true },
    );
    const changes: string[] = [];
    await new Promise((resolve) => watcher?.on('ready', resolve));
    watcher.on('all', (_event, changed) => changes.push(path.relative(dir, changed)));

    const watched = Object.keys(watcher.getWatched()).map((watchedDir) => path.relative(dir, watchedDir));
    expect(watched.filter((watchedDir) => watchedDir.startsWith('.stack'))).toEqual([]);
    expect(watched).toEqual(expect.arrayContaining(['functions', 'lib', 'lib/sinks', 'connectors/sinks']));

    appendFileSync(path.join(dir, '.stack/pg/data/base/1/16384'), 'x');
    appendFileSync(path.join(dir, 'lib/sinks/pg.ts'), '// changed\n');
    appendFileSync(path.join(dir, 'connectors/sinks/sink.json'), '\n');
    const deadline = Date.now() + 5_000;
    while (changes.length < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(changes.sort()).toEqual(['connectors/sinks/sink.json', 'lib/sinks/pg.ts']);
  });
});
