// scripts/stack.sh: clusters kept outside a checkout are removed once that checkout is gone.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const STACK_SH = path.join(__dirname, '../../../scripts/stack.sh');

describe('stack.sh pg_prune_orphans', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'medstream-prune-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const cluster = (name: string, owner: string | undefined, postmasterPid?: number) => {
    const dir = path.join(root, `medstream-${name}`);
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    if (owner !== undefined) writeFileSync(path.join(dir, 'owner'), `${owner}\n`);
    if (postmasterPid !== undefined)
      writeFileSync(path.join(dir, 'data/postmaster.pid'), `${postmasterPid}\n`);
    return dir;
  };

  const prune = () =>
    execFileSync('bash', ['-c', `source "${STACK_SH}" && pg_prune_orphans`], {
      env: { ...process.env, MEDSTREAM_PG_ALT_ROOT: root },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('removes only the clusters of checkouts that no longer exist and that no server runs from', () => {
    const gone = path.join(root, 'deleted-checkout/.stack');
    const orphan = cluster('orphan', gone);
    const kept = cluster('kept', root);
    const unmarked = cluster('unmarked', undefined);
    const running = cluster('running', gone, process.pid);
    prune();
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(unmarked)).toBe(true);
    expect(existsSync(running)).toBe(true);
  });

  it('does nothing when there are no clusters', () => {
    expect(() => prune()).not.toThrow();
  });
});
