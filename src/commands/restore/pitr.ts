import {BaseCommand} from '../../base-command.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {pitrFlags} from '../../lib/restore/flags.js'
import type {PitrOutcome} from '../../lib/restore/pitr.js'
import type {RdsOutcome} from '../../lib/rds/pitr.js'
import {planRestore} from '../../lib/restore/run.js'
import type {Window} from '../../lib/backup/window.js'

export type RestorePitrResult = PitrOutcome & {rds?: RdsOutcome; dryRun: boolean; plan: PlanData; window?: Window; execution?: ExecutionResult}

export default class RestorePitr extends BaseCommand<typeof RestorePitr> {
  static override summary = 'PostgreSQL point-in-time restore from the base backups and WAL in S3 into a new side instance'
  static override description = 'Also spelt `vaultctl restore --pitr`. Picks the newest base backup that ended before the target and refuses (exit 3, with the restorable window) a target outside it or behind a WAL gap. Recovery settings go into postgresql.auto.conf with recovery.signal; the instance gets its own port and never archives.'
  static override examples = [
    '<%= config.bin %> restore pitr --target-time 2026-11-27T14:30:00Z --dry-run',
    '<%= config.bin %> restore pitr --target-time "2026-11-27 15:30:00+01:00" --verify-sql "select count(*) > 0 from datasets"',
    '<%= config.bin %> restore pitr --latest',
    '<%= config.bin %> restore --pitr --target-lsn 0/3000060',
  ]
  static override flags = pitrFlags

  async run(): Promise<RestorePitrResult> {
    const out: PitrOutcome & {rds?: RdsOutcome} = {}
    const {plan, window} = await planRestore(this.environment(), this.flags, out)
    const result = await this.runPlan(plan)
    if (!result.dryRun && out.rds) this.out(`Restored ${out.rds.newId} (${out.rds.status}); endpoint ${out.rds.endpoint ?? 'not reported yet'}`)
    else if (!result.dryRun) this.out(`Restored to ${out.lastTransactionAt ? `the transaction of ${out.lastTransactionAt}` : 'the backup'} in ${out.dataDir}\nConnect: ${out.connection}\nStop it: pg_ctl -D ${out.dataDir} stop`)
    return {...out, dryRun: result.dryRun, plan: result.plan, window, ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
