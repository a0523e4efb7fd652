// scripts/stack.sh service_up: a service of ours that is stopping when `up` runs is started again
// once it has exited, rather than reported as failed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const STACK_SH = path.join(__dirname, '../../../scripts/stack.sh');

// A fake service: ready once its start has run; its process is a sleep.
const FAKE_SERVICE = `
port_of() { echo 1; }
fake_prepare() { :; }
fake_start() { spawn fake sleep 30; touch "$STACK_DIR/started"; }
fake_ready() { [[ -f $STACK_DIR/started ]]; }
fake_healthy() { fake_ready; }
`;

describe('stack.sh service_up', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'medstream-restart-'));
    mkdirSync(path.join(dir, 'run'));
    mkdirSync(path.join(dir, 'logs'));
  });
  afterEach(() => {
    const pidFile = path.join(dir, 'run/fake.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(-Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a new process when the recorded one exits while it waits (it was stopping)', () => {
    const output = execFileSync(
      'bash',
      [
        '-c',
        // The recorded process is ours (MEDSTREAM_STACK_DIR) and exits a second later, never ready.
        `source "${STACK_SH}" && ${FAKE_SERVICE}
         MEDSTREAM_STACK_DIR=$STACK_DIR sleep 1 & echo $! > "$RUN/fake.pid"; stopping=$!
         service_up fake && echo "old $stopping new $(<"$RUN/fake.pid")"`,
      ],
      {
        env: { ...process.env, MEDSTREAM_STACK_DIR: dir },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    expect(output).toMatch(/^fake {8}up in /m);
    const [, before, after] = /old (\d+) new (\d+)/.exec(output) ?? [];
    expect(existsSync(path.join(dir, 'started'))).toBe(true);
    expect(after).not.toBe(before);
  });
});
