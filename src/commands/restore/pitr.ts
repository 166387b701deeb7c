import {BaseCommand} from '../../base-command.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {pitrFlags} from '../../lib/restore/flags.js'
import type {IntoClusterOutcome} from '../../lib/restore/into-cluster.js'
import type {RdsOutcome} from '../../lib/rds/pitr.js'
import {planRestore, type PlannedRestore} from '../../lib/restore/run.js'
import type {Window} from '../../lib/backup/window.js'

export type RestorePitrResult = IntoClusterOutcome & {rds?: RdsOutcome; dryRun: boolean; plan: PlanData; window?: Window; execution?: ExecutionResult}

export default class RestorePitr extends BaseCommand<typeof RestorePitr> {
  static override summary = 'PostgreSQL point-in-time restore from the base backups and WAL in S3 into a new side instance, or into the Patroni cluster itself'
  static override description = 'Also spelt `vaultctl restore --pitr`. Picks the newest base backup that ended before the target and refuses (exit 3, with the restorable window) a target outside it or behind a WAL gap. Recovery settings go into postgresql.auto.conf with recovery.signal; the instance gets its own port and never archives. --into cluster restores and verifies beside the leader\'s data directory while the cluster serves, then pauses Patroni, stops the members, swaps the data directory (the old one is kept), starts the leader through Patroni, verifies, resumes and reinitialises the replicas; an interrupted run continues when re-run. With postgres.kubernetes configured, the StatefulSet plan is printed (not executed yet).'
  static override examples = [
    '<%= config.bin %> restore pitr --target-time 2026-11-27T14:30:00Z --dry-run',
    '<%= config.bin %> restore pitr --target-time "2026-11-27 15:30:00+01:00" --verify-sql "select count(*) > 0 from datasets"',
    '<%= config.bin %> restore pitr --latest',
    '<%= config.bin %> restore --pitr --target-lsn 0/3000060',
    '<%= config.bin %> restore pitr --into cluster --target-time 2026-11-27T14:30:00Z --dry-run',
  ]
  static override flags = pitrFlags

  async run(): Promise<RestorePitrResult> {
    const {plan, window, secrets, outcome} = await planRestore(this.environment(), this.flags)
    const result = await this.runPlan(plan, {secrets})
    const out = result.dryRun ? outcome : withResults(outcome, result.execution)
    if (!result.dryRun && out.rds) this.out(`Restored ${out.rds.newId} (${out.rds.status}); endpoint ${out.rds.endpoint ?? 'not reported yet'}`)
    else if (!result.dryRun && out.cluster) this.out(`Cluster restored: ${out.cluster.leader} leads on timeline ${out.cluster.timeline}; replicas ${out.cluster.replicas.map((x) => `${x.name} ${x.state ?? '?'}`).join(', ')}\nThe data from before is kept in ${out.cluster.oldDataDir}: remove it when satisfied.`)
    else if (!result.dryRun) this.out(`Restored to ${out.lastTransactionAt ? `the transaction of ${out.lastTransactionAt}` : 'the backup'} in ${out.dataDir}\nConnect: ${out.connection}\nStop it: pg_ctl -D ${out.dataDir} stop`)
    return {...out, dryRun: result.dryRun, plan: result.plan, window, ...(result.dryRun ? {} : {execution: result.execution})}
  }
}

/** What the plan knew, completed with what its operations returned. */
function withResults(o: PlannedRestore['outcome'], e: ExecutionResult): PlannedRestore['outcome'] {
  const r = <K extends keyof OperationResult>(_kind: K, ...ids: string[]) => ids.map((id) => stepResult<OperationResult[K]>(e, id)).find((x) => x !== undefined)
  const available = r('rds.await-available', 'wait-available')
  const promoted = r('pg.await-promoted', 'wait-promoted', 'side-wait-promoted')
  const verified = r('pg.verify-restored', 'verify', 'side-verify')
  const leader = r('pg.verify-writable', 'verify-leader')
  const reinit = r('patroni.reinit-replicas', 'reinit-replicas')
  return {
    ...o,
    ...(o.rds ? {rds: {...o.rds, ...available}} : {}),
    ...(promoted ? {promotedAfterMs: promoted.promotedAfterMs} : {}),
    ...(verified?.lastTransactionAt ? {lastTransactionAt: verified.lastTransactionAt} : {}),
    ...(verified?.verifySql ?? leader?.verifySql ? {verifySql: verified?.verifySql ?? leader?.verifySql} : {}),
    ...(o.cluster ? {cluster: {...o.cluster, timeline: leader?.timeline ?? r('patroni.restart-await-leader', 'start-leader')?.timeline,
      replicas: reinit?.replicas ?? o.cluster.replicas, resumed: stepResult(e, 'resume') !== undefined}} : {}),
  }
}
