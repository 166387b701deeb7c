import {Flags} from '@oclif/core'
import {usageError} from '../../lib/errors.js'
import RestorePitr, {type RestorePitrResult} from './pitr.js'

// `vaultctl restore --pitr ...`: how operators say it; exactly `vaultctl restore pitr ...`.
export default class Restore extends RestorePitr {
  static override summary = 'Restore: `--pitr` for PostgreSQL point-in-time (same as `restore pitr`)'
  static override description = 'See `vaultctl restore pitr --help`.'
  static override examples = ['<%= config.bin %> restore --pitr --target-time 2026-11-27T14:30:00Z']
  static override flags = {pitr: Flags.boolean({description: 'PostgreSQL point-in-time restore (see `restore pitr --help`)'}), ...RestorePitr.flags}

  override async run(): Promise<RestorePitrResult> {
    if (!(this.flags as {pitr?: boolean}).pitr) {
      throw usageError('USAGE', 'say what to restore: --pitr (PostgreSQL point in time)', ['vaultctl restore --pitr --target-time 2026-11-27T14:30:00Z', 'or: vaultctl restore pitr ...'])
    }
    return super.run()
  }
}
