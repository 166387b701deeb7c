import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {optionalIntFlag} from '../../lib/flags.js'
import {usageError} from '../../lib/errors.js'
import type {BackupManifest} from '../../lib/backup/base.js'
import {planBackupCreate} from '../../lib/backup/base.js'
import type {BaseCompression} from '../../lib/backup/compression.js'
import {backupTarget} from '../../lib/backup/location.js'
import {s3Where} from '../../lib/s3/conn.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {readClusterState} from '../../lib/postgres/cluster-state.js'
import {patroniTarget} from '../../lib/postgres/target.js'
import {formatBytes} from '../../lib/units.js'

export type BackupCreateResult = {dryRun: boolean; plan: PlanData; manifest?: BackupManifest; execution?: ExecutionResult}

export default class BackupCreate extends BaseCommand<typeof BackupCreate> {
  static override summary = 'Take a base backup (pg_basebackup, tar, WAL included, compressed on the server) from a healthy replica, streamed to S3 with a manifest'
  static override description = 'Compression comes from postgres.backup.compression (default zstd level 3, 2 workers on the server); --compression and --compress-level override it for one run. The stored object is base.tar.zst, base.tar.lz4 or base.tar; its SHA-256 and size are in the manifest, written last.'
  static override examples = ['<%= config.bin %> backup create', '<%= config.bin %> backup create --dry-run', '<%= config.bin %> backup create --compression lz4', '<%= config.bin %> backup create --plan-out backup.json']
  static override flags = {
    compression: Flags.string({description: 'zstd, lz4 or none (default: postgres.backup.compression.method)', options: ['zstd', 'lz4', 'none']}),
    'compress-level': optionalIntFlag({description: 'zstd 1-22, lz4 1-12 (default: the config\'s, else zstd 3 / lz4 1)', min: 1, max: 22}),
  }

  async run(): Promise<BackupCreateResult> {
    const {flags} = await this.parse(BackupCreate)
    const {name, env} = this.environment()
    const target = patroniTarget(env, name)
    const {location, conn, compression: configured} = backupTarget(env, name)
    const method = (flags.compression ?? configured.method) as BaseCompression['method']
    const level = flags['compress-level'] ?? (flags.compression && flags.compression !== configured.method ? undefined : configured.level)
    if (method === 'none' && flags['compress-level'] !== undefined) throw usageError('USAGE', '--compress-level needs --compression zstd or lz4', ['Drop --compress-level, or pick a method.'])
    if (method === 'lz4' && level !== undefined && level > 12) throw usageError('USAGE', `lz4 levels are 1-12, not ${level}`, ['Use --compress-level 1..12 with lz4.'])
    const compression: BaseCompression = {method, ...(level === undefined || method === 'none' ? {} : {level}), ...(method === 'zstd' ? {workers: configured.workers} : {})}
    const binDir = env.postgres?.kind === 'patroni' ? env.postgres.binDir : undefined
    const state = await readClusterState(target.name, target.endpoints)
    const plan = planBackupCreate(target, state, binDir, s3Where(conn),
      location, {name, protected: env.protected}, env.slo.replicationLagBytes.warn, compression)
    const result = await this.runPlan(plan, {secrets: {pgPassword: target.password, s3: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}}})
    const manifest = result.dryRun ? undefined : stepResult<OperationResult['backup.write-manifest']>(result.execution, 'manifest')?.manifest
    if (manifest) this.out(`Backup ${manifest.id}: ${formatBytes(manifest.bytes)} stored (${manifest.compression ?? 'none'}) from ${manifest.source.member} (${manifest.source.role}), WAL ${manifest.startLsn}..${manifest.endLsn} on timeline ${manifest.timeline}, sha256 ${manifest.sha256.slice(0, 16)}...`)
    return {dryRun: result.dryRun, plan: result.plan, ...(manifest ? {manifest} : {}), ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
