import {BaseCommand} from '../../base-command.js'
import type {BackupManifest} from '../../lib/backup/base.js'
import {planBackupCreate} from '../../lib/backup/base.js'
import {backupTarget} from '../../lib/backup/location.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {readClusterState} from '../../lib/postgres/cluster-state.js'
import {patroniTarget} from '../../lib/postgres/target.js'
import {formatBytes} from '../../lib/units.js'

export type BackupCreateResult = {dryRun: boolean; plan: PlanData; manifest?: BackupManifest; execution?: ExecutionResult}

export default class BackupCreate extends BaseCommand<typeof BackupCreate> {
  static override summary = 'Take a base backup (pg_basebackup, tar, WAL included) from a healthy replica, streamed to S3 with a manifest'
  static override examples = ['<%= config.bin %> backup create', '<%= config.bin %> backup create --dry-run', '<%= config.bin %> backup create --plan-out backup.json']

  async run(): Promise<BackupCreateResult> {
    const {name, env} = this.environment()
    const target = patroniTarget(env, name)
    const {location, conn} = backupTarget(env, name)
    const binDir = env.postgres?.kind === 'patroni' ? env.postgres.binDir : undefined
    const state = await readClusterState(target.name, target.endpoints)
    const plan = planBackupCreate(target, state, binDir, {...(conn.endpoint ? {endpoint: conn.endpoint} : {}), region: conn.region, forcePathStyle: conn.forcePathStyle},
      location, {name, protected: env.protected}, env.slo.replicationLagBytes.warn)
    const result = await this.runPlan(plan, {secrets: {pgPassword: target.password, s3: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}}})
    const manifest = result.dryRun ? undefined : stepResult<OperationResult['backup.write-manifest']>(result.execution, 'manifest')?.manifest
    if (manifest) this.out(`Backup ${manifest.id}: ${formatBytes(manifest.bytes)} from ${manifest.source.member} (${manifest.source.role}), WAL ${manifest.startLsn}..${manifest.endLsn} on timeline ${manifest.timeline}, sha256 ${manifest.sha256.slice(0, 16)}...`)
    return {dryRun: result.dryRun, plan: result.plan, ...(manifest ? {manifest} : {}), ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
