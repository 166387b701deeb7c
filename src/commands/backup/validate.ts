import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {planValidate, type ValidateOutcome} from '../../lib/backup/validate.js'
import {errorMessage} from '../../lib/errors.js'
import type {ExecutionResult, Plan, PlanData} from '../../lib/plan/types.js'
import {readClusterState} from '../../lib/postgres/cluster-state.js'
import {restoreSource} from '../../lib/restore/run.js'
import {table} from '../../lib/table.js'
import {durationFlag} from '../../lib/flags.js'

export type BackupValidateResult = {ok: boolean; backup?: string; checks: ValidateOutcome['checks']; plan: PlanData | null; dryRun: boolean; error?: string; execution?: ExecutionResult}

export default class BackupValidate extends BaseCommand<typeof BackupValidate> {
  static override summary = 'The daily backup test: restore the newest base backup and its WAL to an ephemeral instance, check it, tear it down'
  static override description = 'Checks: WAL continuity after the backup, backup age, archiving on the leader (RPO), pg_amcheck, and each --check-sql. Exit 1 when any check fails; --json for monitoring.'
  static override examples = ['<%= config.bin %> backup validate --json', '<%= config.bin %> backup validate --check-sql "select max(updated_at) > now() - interval \'1 day\' from objects"']
  static override flags = {
    'check-sql': Flags.string({description: 'SQL run on the restored instance; a false/0/null first value fails (repeatable)', multiple: true}),
    'max-backup-age': durationFlag({description: 'the newest base backup may be at most this old', default: '26h'}),
    timeout: durationFlag({description: 'how long the restore may take', default: '15m'}),
  }

  async run(): Promise<BackupValidateResult> {
    const r = this.environment()
    const {src, restoresRoot, osUser} = restoreSource(r)
    const maxAge = this.flags['max-backup-age']
    const timeout = this.flags.timeout
    let leader: {host: string; port: number} | undefined
    try {
      const s = await readClusterState(src.cluster, src.endpoints)
      if (s.leader?.host && s.leader.port) leader = {host: s.leader.host, port: s.leader.port}
    } catch {
      // the archive can be validated without the cluster; the wal-rpo check is then skipped
    }
    const out: ValidateOutcome = {pitr: {}, checks: []}
    const showChecks = () => this.out(table(['CHECK', 'OK', 'DETAIL'], out.checks.map((c) => [c.id, c.skipped ? 'skipped' : c.ok ? 'yes' : 'NO', c.detail])))
    let plan: Plan | undefined
    let error: string | undefined
    let result
    try {
      plan = await planValidate(src, {name: r.name, protected: r.env.protected}, {restoresRoot, osUser, timeoutMs: timeout * 1000, maxBackupAgeMs: maxAge * 1000,
        rpoSeconds: r.env.slo.rpo.postgres, checkSql: this.flags['check-sql'] ?? [], leader}, out)
      result = await this.runPlan(plan)
    } catch (e) {
      error = errorMessage(e)
      // A restore that cannot be planned or fails before the checks is itself the failed check.
      if (out.checks.length === 0) out.checks.push({id: 'restore', ok: false, detail: `the newest backup could not be restored: ${error}`})
      if (!this.jsonEnabled()) {
        showChecks()
        throw e
      }
      process.exitCode = (e as {exit?: number}).exit ?? 1
    }
    if (!error && out.checks.length) showChecks()
    const {planData} = await import('../../lib/plan/data.js')
    return {ok: !error && (result?.dryRun || out.checks.every((c) => c.ok)), backup: out.backup, checks: out.checks, plan: result?.plan ?? (plan ? planData(plan) : null),
      dryRun: Boolean(result?.dryRun), ...(error ? {error} : {}), ...(result && !result.dryRun ? {execution: result.execution} : {})}
  }
}
