import type { Command } from 'commander';
import { buildProgram, type Io } from '../../cli/main';

/**
 * Runs the `medstream` CLI in this process as a user would, with `fetch` for its HTTP (the real one,
 * or a stub in unit tests). Returns the lines it printed and the exit code it set; --help ends a
 * run normally. process.exitCode is left as it was found (unset).
 */
export const runCli = async (args: string[], fetch: Io['fetch']) => {
  const lines: string[] = [];
  const io: Io = {
    out: (line) => lines.push(line),
    err: (line) => lines.push(line),
    interactive: false,
    fetch,
  };
  const program = buildProgram(io);
  const overrideExit = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) overrideExit(sub);
  };
  overrideExit(program);
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'medstream', ...args]).catch((error: { code?: string }) => {
      if (error.code !== 'commander.helpDisplayed' && error.code !== 'commander.help') throw error;
    });
    return { lines, exitCode: process.exitCode ?? 0 };
  } finally {
    process.exitCode = undefined;
  }
};
