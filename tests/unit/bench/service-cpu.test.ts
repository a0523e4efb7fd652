import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processTreeCpuSeconds, serviceCpuSeconds } from '../../../bench/service-cpu';

/** Keeps this process's CPU busy for `ms`. */
const burn = (ms: number) => {
  const until = Date.now() + ms;
  let spin = 0;
  while (Date.now() < until) spin += 1;
  return spin;
};

// /proc is Linux's: elsewhere the bench reports NaN and there is nothing to test.
const onLinux = existsSync('/proc/self/stat');

(onLinux ? describe : describe.skip)('stack services CPU (bench)', () => {
  const self = String(process.pid);

  it("counts a process's own CPU", () => {
    const before = processTreeCpuSeconds(self) as number;
    burn(300);
    const after = processTreeCpuSeconds(self) as number;
    expect(after - before).toBeGreaterThanOrEqual(0.2);
    expect(after - before).toBeLessThan(5);
  });

  it('counts the CPU of children that have exited (as PostgreSQL backends do)', () => {
    const before = processTreeCpuSeconds(self) as number;
    // This process waits (no CPU of its own) while its child burns ~400 ms.
    const child = spawnSync(process.execPath, [
      '-e',
      'const u = Date.now() + 400; let n = 0; while (Date.now() < u) n += 1;',
    ]);
    expect(child.status).toBe(0);
    const after = processTreeCpuSeconds(self) as number;
    expect(after - before).toBeGreaterThanOrEqual(0.3);
  });

  it('reads nothing for a process that does not exist', () => {
    expect(processTreeCpuSeconds('999999999')).toBeUndefined();
  });

  it("finds a service by the stack's pid file, and reads nothing without one", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'medstream-stack-'));
    try {
      mkdirSync(path.join(dir, 'run'));
      writeFileSync(path.join(dir, 'run', 'postgres.pid'), `${self}\n`);
      expect(serviceCpuSeconds('postgres', dir)).toBeGreaterThan(0);
      expect(serviceCpuSeconds('kafka', dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
