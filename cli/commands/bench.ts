/**
 * `x2 bench`: load generators and benchmarks. Each benchmark is a subcommand in its own file
 * (bench-<name>.ts) registered here, so new ones (river, produce, ...) are added without
 * touching the others.
 */
import { Command } from 'commander';
import { benchRiverCommand } from './bench-river.ts';
import { benchStorageCommand } from './bench-storage.ts';
import { benchConsumeCommand, benchE2eCommand, benchProduceCommand } from './bench-workload.ts';

export function benchCommand(): Command {
  return new Command('bench')
    .description('measure x2 parts on this host (see man x2-bench)')
    .addCommand(benchStorageCommand())
    .addCommand(benchRiverCommand())
    .addCommand(benchProduceCommand()).addCommand(benchConsumeCommand()).addCommand(benchE2eCommand());
}
