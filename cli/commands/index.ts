/**
 * Every subcommand of x2, in the order `x2 --help` lists them. Only commands that work are
 * registered here; a role appears once its issue has landed.
 */
import type { Command } from 'commander';
import { benchCommand } from './bench.ts';
import { probeCommand } from './probe.ts';
import { sequencerCommand } from './sequencer.ts';
import { commitCommand } from './commit.ts';
import { gatewayCommand } from './gateway.ts';
import { upCommand } from './up.ts';
import { topCommand } from './top.ts';
import { sidecarCommand } from './sidecar.ts';

export const COMMANDS: Array<() => Command> = [
  probeCommand,
  sequencerCommand,
  commitCommand,
  gatewayCommand,
  upCommand,
  topCommand,
  sidecarCommand,
  benchCommand,
];
