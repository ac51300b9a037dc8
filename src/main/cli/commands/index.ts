// The command registry: one module per command. A later command (train, eval,
// explain, metrics, export) is a new file here and one line in this list.
import type { CliCommand } from '../types';
import { evalCommand } from './eval';
import { explainCommand } from './explain';
import { importCommand } from './import';
import { metricsCommand } from './metrics';
import { modelsCommand } from './models';
import { infoCommand } from './info';
import { pairsCommand } from './pairs';
import { trainCommand } from './train';

export const COMMANDS: CliCommand[] = [
  importCommand,
  pairsCommand,
  infoCommand,
  trainCommand,
  evalCommand,
  modelsCommand,
  explainCommand,
  metricsCommand,
];

// review: verdict exports, review bundles, summaries (its own block, so parallel additions to the list above merge cleanly)
import { reviewCommand } from './review';
COMMANDS.push(reviewCommand);

// masks: export (PNG, COCO, CSV) and import (its own block, so parallel additions merge cleanly)
import { masksCommand } from './masks';
COMMANDS.push(masksCommand);
// retraining with masks, comparing versions, benchmarks (their own block, for the same reason)
import { benchCommand } from './bench';
import { compareCommand } from './compare';
import { retrainCommand } from './retrain';
COMMANDS.push(retrainCommand, compareCommand, benchCommand);

// hardening: workspace backups (their own block, so parallel additions to the list above merge cleanly)
import { backupCommand, restoreCommand } from './backup';
COMMANDS.push(backupCommand, restoreCommand);
