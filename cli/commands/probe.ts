import { Command } from 'commander';

export function probeCommand(): Command {
  return new Command('probe')
    .description('report what this host offers x2 (network, multicast, RDMA, limits, disk)')
    .option('--json', 'print the report as JSON')
    .action(() => {
      process.stdout.write('probe\n');
    });
}
