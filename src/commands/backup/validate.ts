import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {observeValidate, planValidate, type ValidateCheck} from '../../lib/backup/validate.js'
import {errorMessage, type VaultctlError} from '../../lib/errors.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {restoreSource} from '../../lib/restore/run.js'
import {table} from '../../lib/table.js'
import {durationFlag} from '../../lib/flags.js'

export type BackupValidateResult = {ok: boolean; backup?: string; checks: ValidateCheck[]; plan: PlanData | null; dryRun: boolean; error?: string; execution?: ExecutionResult}

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
    const opts = {restoresRoot, osUser, timeoutMs: this.flags.timeout * 1000, maxBackupAgeMs: this.flags['max-backup-age'] * 1000,
      rpoSeconds: r.env.slo.rpo.postgres, checkSql: this.flags['check-sql'] ?? []}
    let checks: ValidateCheck[] = []
    const showChecks = () => this.out(table(['CHECK', 'OK', 'DETAIL'], checks.map((c) => [c.id, c.skipped ? 'skipped' : c.ok ? 'yes' : 'NO', c.detail])))
    let planned: ReturnType<typeof planValidate> | undefined
    let error: string | undefined
    let result
    try {
      planned = planValidate(src, {name: r.name, protected: r.env.protected}, opts, await observeValidate(src, opts))
      result = await this.runPlan(planned.plan, {secrets: {pgPassword: src.password, s3: {accessKeyId: src.conn.accessKeyId, secretAccessKey: src.conn.secretAccessKey}}})
      if (!result.dryRun) checks = stepResult<OperationResult['backup.validate-checks']>(result.execution, 'checks')?.checks ?? []
    } catch (e) {
      error = errorMessage(e)
      // The checks' outcomes travel with the failure; a restore that cannot be planned or fails
      // before the checks is itself the failed check.
      const failedRun = (e as VaultctlError).details as ExecutionResult | undefined
      checks = (failedRun?.steps?.find((x) => x.id === 'checks')?.result as OperationResult['backup.validate-checks'] | undefined)?.checks ?? []
      if (checks.length === 0) checks.push({id: 'restore', ok: false, detail: `the newest backup could not be restored: ${error}`})
      if (!this.jsonEnabled()) {
        showChecks()
        throw e
      }
      process.exitCode = (e as {exit?: number}).exit ?? 1
    }
    if (!error && checks.length) showChecks()
    const {planData} = await import('../../lib/plan/data.js')
    return {ok: !error && (result?.dryRun || checks.every((c) => c.ok)), backup: planned?.backup, checks, plan: result?.plan ?? (planned ? planData(planned.plan) : null),
      dryRun: Boolean(result?.dryRun), ...(error ? {error} : {}), ...(result && !result.dryRun ? {execution: result.execution} : {})}
  }
}
