import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {readCatalog} from '../../lib/backup/catalog.js'
import {clusterPrefix, s3Url} from '../../lib/backup/layout.js'
import {backupTarget} from '../../lib/backup/location.js'
import {decidePrune, planPrune, storageUsed, type PruneDecision, type StorageUsed} from '../../lib/backup/retention.js'
import {observeVersions, versioningNote} from '../../lib/backup/storage.js'
import {s3Where} from '../../lib/s3/conn.js'
import {refusal} from '../../lib/errors.js'
import {instantFlag, optionalIntFlag} from '../../lib/flags.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {formatBytes} from '../../lib/units.js'

export type BackupPruneResult = {dryRun: boolean; plan: PlanData; decision: PruneDecision; storage: StorageUsed; versioning: string; execution?: ExecutionResult}

export default class BackupPrune extends BaseCommand<typeof BackupPrune> {
  static override summary = 'Delete the base backups and WAL the retention policy no longer keeps (never what a kept backup needs)'
  static override description = 'Policy: postgres.backup.retention (default: full backups 30 days, WAL 7 days, at least 1 backup; architecture 8.1). The newest backup that finished before NOW - walDays anchors the point-in-time window: the WAL from its start on is kept on every timeline, and so is each kept backup\'s own WAL; history files always. The plan lists what goes, why each backup stays, and the window before and after; it is refused if any kept backup from the anchor on would lose WAL. On a versioned bucket a delete leaves noncurrent versions that cost storage until a lifecycle rule (NoncurrentVersionExpiration) expires them; the plan says which rule covers the location, and --delete-versions deletes them for good instead. Interrupted: re-run.'
  static override examples = ['<%= config.bin %> backup prune --dry-run', '<%= config.bin %> backup prune --yes', '<%= config.bin %> backup prune --keep-wal-days 14 --dry-run',
    '<%= config.bin %> backup prune --at 2026-12-31T00:00:00Z --dry-run   # what the policy will delete then']
  static override flags = {
    'keep-full-days': optionalIntFlag({description: 'keep full backups this many days (default: retention.fullDays, 30)', min: 1, max: 3650}),
    'keep-wal-days': optionalIntFlag({description: 'point-in-time restore reaches this many days back (default: retention.walDays, 7)', min: 1, max: 3650}),
    'min-backups': optionalIntFlag({description: 'never fewer complete backups (default: retention.minBackups, 1)', min: 1, max: 1000}),
    at: instantFlag({description: 'apply the policy as of this instant instead of now (a later one deletes more: needs --force to run)'}),
    'delete-versions': Flags.boolean({description: 'on a versioned bucket, also delete the old versions and delete markers of what is deleted (and of objects deleted before), for good'}),
    force: Flags.boolean({description: 'run with --at later than now'}),
  }

  async run(): Promise<BackupPruneResult> {
    const {flags} = await this.parse(BackupPrune)
    const now = new Date()
    const {name, env} = this.environment()
    const {location, conn, retention} = backupTarget(env, name)
    const at = flags.at ?? now
    if (at.getTime() > now.getTime() + 60_000 && !flags.force && !this.flags['dry-run']) {
      throw refusal('PRUNE_IN_FUTURE', `--at ${at.toISOString()} is later than now: it would delete what the policy keeps today`, ['Look with --dry-run, or add --force to run it.'])
    }
    const policy = {fullDays: flags['keep-full-days'] ?? retention.fullDays, walDays: flags['keep-wal-days'] ?? retention.walDays, minBackups: flags['min-backups'] ?? retention.minBackups}
    const [catalog, seen] = await Promise.all([readCatalog(conn, location), observeVersions(conn, location)])
    const decision = decidePrune(catalog, location, policy, at, seen.versions)
    const storage = storageUsed(catalog, location, seen.versions)
    const versioning = versioningNote(seen, location)
    const plan = planPrune(decision, location, {s3: s3Where(conn),
      env: {name, protected: env.protected}, deleteVersions: flags['delete-versions'], lifecycleNote: versioning})
    if (!plan.steps.length) {
      this.out(`Nothing to prune in ${s3Url(location, clusterPrefix(location))}: ${decision.keep.length} backup(s) kept (${decision.keep.map((k) => `${k.id}: ${k.why}`).join('; ') || 'none'}).\n${versioning}`)
    }
    const result = plan.steps.length ? await this.runPlan(plan, {secrets: {s3: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}}}) : undefined
    if (result && !result.dryRun) {
      this.out(`Pruned: ${decision.drop.length} backup(s), ${decision.wal.delete.length} WAL file(s), ${formatBytes(decision.drop.reduce((n, b) => n + b.bytes, 0) + decision.wal.deleteBytes + decision.diverged.deleteBytes + decision.incomplete.deleteBytes)}. ${versioning}`)
    }
    const {planData} = await import('../../lib/plan/data.js')
    return {dryRun: result?.dryRun ?? Boolean(this.flags['dry-run']), plan: result?.plan ?? planData(plan), decision, storage, versioning, ...(result && !result.dryRun ? {execution: result.execution} : {})}
  }
}
