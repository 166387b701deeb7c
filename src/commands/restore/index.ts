import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import {pitrFlags} from '../../lib/restore/flags.js'
import type {PitrOutcome} from '../../lib/restore/pitr.js'
import type {RdsOutcome} from '../../lib/rds/pitr.js'
import {planRestore} from '../../lib/restore/run.js'
import type {RestorePitrResult} from './pitr.js'

// `vaultctl restore --pitr ...`: how operators say it; the same as `vaultctl restore pitr ...`.
export default class Restore extends BaseCommand<typeof Restore> {
  static override summary = 'Restore: `--pitr` for PostgreSQL point-in-time (same as `restore pitr`)'
  static override examples = ['<%= config.bin %> restore --pitr --target-time 2026-11-27T14:30:00Z']
  static override flags = {pitr: Flags.boolean({description: 'PostgreSQL point-in-time restore (see `restore pitr --help`)'}), ...pitrFlags}

  async run(): Promise<RestorePitrResult> {
    if (!this.flags.pitr) throw usageError('USAGE', 'say what to restore: --pitr (PostgreSQL point in time)', ['vaultctl restore --pitr --target-time 2026-11-27T14:30:00Z', 'or: vaultctl restore pitr ...'])
    const out: PitrOutcome & {rds?: RdsOutcome} = {}
    const {plan, window} = await planRestore(this.environment(), this.flags, out)
    const result = await this.runPlan(plan)
    if (!result.dryRun) this.out(out.rds ? `Restored ${out.rds.newId} (${out.rds.status})` : `Restored into ${out.dataDir}\nConnect: ${out.connection}`)
    return {...out, dryRun: result.dryRun, plan: result.plan, window, ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
