import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * CPU time of the local stack's services, read from Linux's /proc: where a benchmark's CPU goes
 * besides its own process (PostgreSQL's backends, the Kafka broker, the Kafka Connect worker).
 * Elsewhere it reads nothing.
 */

/** /proc reports times in clock ticks of USER_HZ, which is 100 on Linux whatever the kernel's HZ. */
const TICKS_PER_SECOND = 100;

const stackDir = process.env.MEDSTREAM_STACK_DIR ?? path.join(__dirname, '..', '.stack');

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): state is [0]. */
const statFields = (pid: string): string[] | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
};

const PPID = 1;
/** utime, stime, cutime, cstime: the process's own time and that of the children it has reaped. */
const TIMES = [11, 12, 13, 14];

const ticksOf = (fields: string[]): number => TIMES.reduce((sum, index) => sum + Number(fields[index]), 0);

/**
 * CPU seconds a process has used so far, its live children included (PostgreSQL's backends, say):
 * a child that exits between two readings moves into its parent's reaped time, so the sum never
 * goes back. Undefined when the process cannot be read.
 */
export const processTreeCpuSeconds = (pid: string): number | undefined => {
  const own = statFields(pid);
  if (own === undefined) return undefined;
  let ticks = ticksOf(own);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || entry === pid) continue;
    const fields = statFields(entry);
    if (fields?.[PPID] === pid) ticks += ticksOf(fields);
  }
  return ticks / TICKS_PER_SECOND;
};

export type StackService = 'postgres' | 'kafka' | 'connect';

/** CPU seconds used so far by a service that `npm run stack:up` started (from its pid file). */
export const serviceCpuSeconds = (service: StackService, dir = stackDir): number | undefined => {
  let pid: string;
  try {
    pid = readFileSync(path.join(dir, 'run', `${service}.pid`), 'utf8').trim();
  } catch {
    return undefined;
  }
  return processTreeCpuSeconds(pid);
};

/** Starts counting the services' CPU; the returned function gives the seconds each used since. */
export const startServiceCpu = (services: StackService[]) => {
  const before = new Map(services.map((service) => [service, serviceCpuSeconds(service)]));
  return (): Record<StackService, number> => {
    const used = {} as Record<StackService, number>;
    for (const service of services) {
      const start = before.get(service);
      const end = serviceCpuSeconds(service);
      used[service] = start === undefined || end === undefined ? Number.NaN : end - start;
    }
    return used;
  };
};
