// Named SMP commands (group, id, op), from Zephyr's os_mgmt.h / img_mgmt.h / stat_mgmt.h.
import { SmpOp, type SmpOpCode } from './header.js';

export const SmpGroup = {
  os: 0,
  image: 1,
  stats: 2,
  settings: 3,
  log: 4,
  crash: 5,
  split: 6,
  run: 7,
  fs: 8,
  shell: 9,
  zephyr: 63,
} as const;

export interface SmpCommandSpec {
  group: number;
  id: number;
  op: SmpOpCode;
  description: string;
}

export const smpCommands = {
  echo: { group: SmpGroup.os, id: 0, op: SmpOp.write, description: 'OS echo: {"d": text} -> {"r": text}' },
  taskstat: { group: SmpGroup.os, id: 2, op: SmpOp.read, description: 'OS task statistics' },
  mpstat: { group: SmpGroup.os, id: 3, op: SmpOp.read, description: 'OS memory pool statistics' },
  datetime: { group: SmpGroup.os, id: 4, op: SmpOp.read, description: 'OS date and time' },
  reset: { group: SmpGroup.os, id: 5, op: SmpOp.write, description: 'OS reset' },
  mcumgr_params: { group: SmpGroup.os, id: 6, op: SmpOp.read, description: 'SMP buffer size and count' },
  os_info: { group: SmpGroup.os, id: 7, op: SmpOp.read, description: 'OS/application info: {"format": "a"}' },
  bootloader_info: { group: SmpGroup.os, id: 8, op: SmpOp.read, description: 'Bootloader information' },
  image_state: { group: SmpGroup.image, id: 0, op: SmpOp.read, description: 'Image slots and their state' },
  image_slot_info: { group: SmpGroup.image, id: 6, op: SmpOp.read, description: 'Image slot sizes' },
  stats_list: { group: SmpGroup.stats, id: 1, op: SmpOp.read, description: 'Names of the statistics groups' },
  stats_read: { group: SmpGroup.stats, id: 0, op: SmpOp.read, description: 'One statistics group: {"name": g}' },
} as const satisfies Record<string, SmpCommandSpec>;

export type SmpCommandName = keyof typeof smpCommands;
export const smpCommandNames = Object.keys(smpCommands) as [SmpCommandName, ...SmpCommandName[]];
