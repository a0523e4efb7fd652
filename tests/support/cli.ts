import { PassThrough, Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import type { Command } from 'commander';
import { buildProgram, type Io } from '../../cli/main';

/**
 * A terminal that types each answer's keys once the screen shows its text (a prompt's message, or
 * the reason it refused the last answer), as a user at the keyboard would. `screen` is everything
 * the prompts drew, without colours.
 */
const typingTerminal = (answers: ReadonlyArray<readonly [shown: string, keys: string]>) => {
  const input = new PassThrough();
  let screen = '';
  let sinceLastAnswer = '';
  let next = 0;
  const show = (chunk: Buffer) => {
    const text = stripVTControlCharacters(chunk.toString());
    screen += text;
    sinceLastAnswer += text;
    const answer = answers[next];
    if (answer === undefined || !sinceLastAnswer.includes(answer[0])) return;
    next += 1;
    sinceLastAnswer = '';
    setImmediate(() => input.write(answer[1]));
  };
  // Each prompt gets an output of its own: it ends that stream when answered.
  const terminal = () => ({
    input,
    output: new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        show(chunk);
        done();
      },
    }),
  });
  return { terminal, screen: () => screen };
};

/**
 * Runs the `medstream` CLI in this process as a user would, with `fetch` for its HTTP (the real one,
 * or a stub in unit tests), at a terminal typing `answers` when given (else stdin is no terminal).
 * Returns the lines it printed, the exit code it set and, at a terminal, what its prompts drew; --help ends a run
 * normally. process.exitCode is left as it was found (unset).
 */
export const runCli = async (
  args: string[],
  fetch: Io['fetch'],
  answers?: ReadonlyArray<readonly [shown: string, keys: string]>,
) => {
  const lines: string[] = [];
  const typing = answers === undefined ? undefined : typingTerminal(answers);
  const io: Io = {
    out: (line) => lines.push(line),
    err: (line) => lines.push(line),
    interactive: typing !== undefined,
    fetch,
    ...(typing === undefined ? {} : { terminal: typing.terminal }),
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
    return {
      lines,
      exitCode: process.exitCode ?? 0,
      ...(typing === undefined ? {} : { screen: typing.screen() }),
    };
  } finally {
    process.exitCode = undefined;
  }
};
