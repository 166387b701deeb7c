import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {planValidate, type ValidateOutcome} from '../../lib/backup/validate.js'
import {errorMessage} from '../../lib/errors.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {readClusterState} from '../../lib/postgres/cluster-state.js'
import {restoreSource} from '../../lib/restore/run.js'
import {table} from '../../lib/table.js'
import {parseDuration} from '../../lib/units.js'

export type BackupValidateResult = {ok: boolean; backup?: string; checks: ValidateOutcome['checks']; plan: PlanData; dryRun: boolean; error?: string; execution?: ExecutionResult}

export default class BackupValidate extends BaseCommand<typeof BackupValidate> {
  static override summary = 'The daily backup test: restore the newest base backup and its WAL to an ephemeral instance, check it, tear it down'
  static override description = 'Checks: WAL continuity after the backup, backup age, archiving on the leader (RPO), pg_amcheck, and each --check-sql. Exit 1 when any check fails; --json for monitoring.'
  static override examples = ['<%= config.bin %> backup validate --json', '<%= config.bin %> backup validate --check-sql "select max(updated_at) > now() - interval \'1 day\' from objects"']
  static override flags = {
    'check-sql': Flags.string({description: 'SQL run on the restored instance; a false/0/null first value fails (repeatable)', multiple: true}),
    'max-backup-age': Flags.string({description: 'the newest base backup may be at most this old', default: '26h'}),
    timeout: Flags.string({description: 'how long the restore may take', default: '15m'}),
  }

  async run(): Promise<BackupValidateResult> {
    const r = this.environment()
    const {src, restoresRoot, osUser} = restoreSource(r)
    const maxAge = parseDuration(this.flags['max-backup-age']) ?? 26 * 3600
    const timeout = parseDuration(this.flags.timeout) ?? 900
    let leader: {host: string; port: number} | undefined
    try {
      const s = await readClusterState(src.cluster, src.endpoints)
      if (s.leader?.host && s.leader.port) leader = {host: s.leader.host, port: s.leader.port}
    } catch {
      // the archive can be validated without the cluster; the wal-rpo check is then skipped
    }
    const out: ValidateOutcome = {pitr: {}, checks: []}
    const plan = await planValidate(src, {name: r.name, protected: r.env.protected}, {restoresRoot, osUser, timeoutMs: timeout * 1000, maxBackupAgeMs: maxAge * 1000,
      rpoSeconds: r.env.slo.rpo.postgres, checkSql: this.flags['check-sql'] ?? [], leader}, out)
    let error: string | undefined
    let result
    try {
      result = await this.runPlan(plan)
    } catch (e) {
      error = errorMessage(e)
      if (!this.jsonEnabled()) throw e
      process.exitCode = (e as {exit?: number}).exit ?? 1
    }
    if (out.checks.length) this.out(table(['CHECK', 'OK', 'DETAIL'], out.checks.map((c) => [c.id, c.skipped ? 'skipped' : c.ok ? 'yes' : 'NO', c.detail])))
    return {ok: !error && (result?.dryRun || out.checks.every((c) => c.ok)), backup: out.backup, checks: out.checks, plan: result?.plan ?? (await import('../../lib/plan/data.js')).planData(plan),
      dryRun: Boolean(result?.dryRun), ...(error ? {error} : {}), ...(result && !result.dryRun ? {execution: result.execution} : {})}
  }
}
