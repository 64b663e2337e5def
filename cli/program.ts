/**
 * The commander program: every subcommand is registered in cli/commands/index.ts. Usage errors
 * (unknown command or option, bad value) exit with status 2 and name what was wrong and the
 * closest valid choice; operating errors exit with the status of their X2_ERR code.
 */
import { Command, CommanderError } from 'commander';
import { X2Error } from '../core/base/errors.ts';
import { EXIT_CODES } from '../core/base/error-codes.ts';
import { AssertionError } from '../core/base/assert.ts';
import { COMMANDS } from './commands/index.ts';
import { VERSION } from './version.ts';

export function buildProgram(): Command {
  const program = new Command('x2')
    .description('x2: a streaming appliance in one executable (Kafka-compatible)')
    .version(VERSION, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  program.helpCommand(false);
  for (const make of COMMANDS) program.addCommand(make());
  program.addCommand(helpCommand(program));
  applySettings(program);
  return program;
}

/** `x2 help [command]`: like --help, but an unknown name is a usage error with a suggestion. */
function helpCommand(program: Command): Command {
  return new Command('help')
    .description('show help for a command')
    .argument('[command...]', 'the command (and subcommand) to describe')
    .action((names: string[]) => {
      let target = program;
      for (const name of names) {
        const next = target.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (!next) {
          const choices = target.commands.map((c) => c.name());
          const closest = closestName(name, choices);
          const hint = closest ? `\n(Did you mean ${closest}?)` : '';
          process.stderr.write(`error: unknown command '${name}'${hint}\n`);
          throw new CommanderError(EXIT_CODES.usage, 'commander.unknownCommand', 'unknown command');
        }
        target = next;
      }
      target.outputHelp();
    });
}

/** The closest choice by edit distance, if it is close enough to be a plausible typo. */
export function closestName(name: string, choices: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const choice of choices) {
    const distance = editDistance(name, choice);
    if (distance < bestDistance) {
      best = choice;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** addCommand does not copy settings, so walk the tree once. */
function applySettings(command: Command): void {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .configureOutput({ outputError: (text, write) => write(text) });
  for (const sub of command.commands) applySettings(sub);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // `x2` alone prints help on stderr: a usage error, like an unknown command.
    if (error.code === 'commander.help') return EXIT_CODES.usage;
    return EXIT_CODES.usage;
  }
  if (error instanceof X2Error) {
    process.stderr.write(`x2: ${error.message} [${error.code}]\n`);
    return error.exitCode;
  }
  if (error instanceof AssertionError) {
    process.stderr.write(`x2: internal error: ${error.message}\n${error.stack ?? ''}\n`);
    return EXIT_CODES.software;
  }
  process.stderr.write(`x2: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT_CODES.software;
}
