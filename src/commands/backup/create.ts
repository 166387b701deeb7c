import {BaseCommand} from '../../base-command.js'
import type {BackupManifest} from '../../lib/backup/base.js'
import {planBackupCreate} from '../../lib/backup/base.js'
import {backupTarget} from '../../lib/backup/location.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {patroniTarget} from '../../lib/postgres/target.js'
import {formatBytes} from '../../lib/units.js'

export type BackupCreateResult = {dryRun: boolean; plan: PlanData; manifest?: BackupManifest; execution?: ExecutionResult}

export default class BackupCreate extends BaseCommand<typeof BackupCreate> {
  static override summary = 'Take a base backup (pg_basebackup, tar, WAL included) from a healthy replica, streamed to S3 with a manifest'
  static override examples = ['<%= config.bin %> backup create', '<%= config.bin %> backup create --dry-run', '<%= config.bin %> backup create --json']

  async run(): Promise<BackupCreateResult> {
    const {name, env} = this.environment()
    const target = patroniTarget(env, name)
    const {location, conn} = backupTarget(env, name)
    const out: {manifest?: BackupManifest} = {}
    const binDir = env.postgres?.kind === 'patroni' ? env.postgres.binDir : undefined
    const plan = await planBackupCreate(target, binDir, conn, location, {name, protected: env.protected}, env.slo.replicationLagBytes.warn, out)
    const result = await this.runPlan(plan)
    if (!result.dryRun && out.manifest) {
      const m = out.manifest
      this.out(`Backup ${m.id}: ${formatBytes(m.bytes)} from ${m.source.member} (${m.source.role}), WAL ${m.startLsn}..${m.endLsn} on timeline ${m.timeline}, sha256 ${m.sha256.slice(0, 16)}...`)
    }
    return {dryRun: result.dryRun, plan: result.plan, manifest: out.manifest, ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
