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
  program.addHelpCommand('help [command]', 'show help for a command');
  for (const make of COMMANDS) program.addCommand(make());
  applySettings(program);
  return program;
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
    if (error.code === 'commander.help') return 0;
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
