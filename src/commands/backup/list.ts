import {BaseCommand} from '../../base-command.js'
import type {BackupManifest} from '../../lib/backup/base.js'
import {readCatalog, type RetentionMarker} from '../../lib/backup/catalog.js'
import {storageUsed, type StorageUsed} from '../../lib/backup/retention.js'
import {observeVersions, versioningNote} from '../../lib/backup/storage.js'
import {windowWithCommits} from '../../lib/backup/last-commit.js'
import {backupTarget} from '../../lib/backup/location.js'
import {s3Url, walPrefix} from '../../lib/backup/layout.js'
import {describeWindow, type Window} from '../../lib/backup/window.js'
import {errorMessage} from '../../lib/errors.js'
import {pgBinDir} from '../../lib/restore/run.js'
import {archivingOf} from '../../lib/status/postgres.js'
import type {StatusRow} from '../../lib/status/types.js'
import {table} from '../../lib/table.js'
import {formatBytes} from '../../lib/units.js'

export type BackupListResult = {location: string; backups: BackupManifest[]; incomplete: string[]; invalid: {id: string; problem: string}[]; walFiles: number; window: Window; archiving: Pick<StatusRow, 'rating' | 'state' | 'detail' | 'facts'> | null
  /** bytes stored under the location: backups, WAL, and what deleted objects still hold as noncurrent versions */
  storage: StorageUsed; versioning: string; retention?: RetentionMarker}

export default class BackupList extends BaseCommand<typeof BackupList> {
  static override summary = 'Base backups, the restorable window restore accepts (to just before the last archived commit; gaps reported) and the state of WAL archiving'

  async run(): Promise<BackupListResult> {
    const r = this.environment()
    const {location, conn} = backupTarget(r.env, r.name)
    const [c, seen] = await Promise.all([readCatalog(conn, location), observeVersions(conn, location)])
    const storage = storageUsed(c, location, seen.versions)
    const versioning = versioningNote(seen, location)
    const binDir = pgBinDir(r)
    let window = c.window
    if (binDir) window = await windowWithCommits(binDir, conn, location, c.window, c.histories)
    else this.note('note: pg_waldump not found (set postgres.binDir): window ends are the archive times of the last segments, not the last commits')
    let archiving: BackupListResult['archiving'] = null
    try {
      const row = await archivingOf(r.env)
      archiving = row ? {rating: row.rating, state: row.state, detail: row.detail, ...(row.facts ? {facts: row.facts} : {})} : null
    } catch (error) {
      this.note(`note: archiving on the leader not checked: ${errorMessage(error)}`)
    }
    const lines = [
      c.backups.length ? table(['BACKUP', 'FINISHED', 'SOURCE', 'TL', 'START LSN', 'END LSN', 'STORED', 'COMPRESSION'],
        c.backups.map((b) => [b.id, b.finishedAt, `${b.source.member} (${b.source.role})`, String(b.timeline), b.startLsn, b.endLsn, formatBytes(b.bytes), b.compression ?? 'none'])) : 'No base backups.',
      '',
      `WAL files archived: ${c.wal.length} in ${s3Url(location, walPrefix(location))}`,
      `Storage used: ${formatBytes(storage.backupsBytes + storage.walBytes + storage.divergedBytes + storage.incompleteBytes + (storage.noncurrentBytes ?? 0))} = backups ${formatBytes(storage.backupsBytes)} (${storage.backups}) + WAL ${formatBytes(storage.walBytes)} (${storage.walFiles} files)` +
        `${storage.divergedBytes ? ` + diverged WAL ${formatBytes(storage.divergedBytes)}` : ''}${storage.incompleteBytes ? ` + incomplete backups ${formatBytes(storage.incompleteBytes)}` : ''}` +
        `${storage.noncurrentVersions ? ` + noncurrent versions ${formatBytes(storage.noncurrentBytes!)} (${storage.noncurrentVersions})` : ''}`,
      `  ${versioning}`,
      ...(c.retention ? [`Pruned ${c.retention.prunedAt}: WAL before ${c.retention.walFrom} removed by the retention policy (\`vaultctl backup prune\`).`] : []),
      ...(archiving ? [`Archiving on the leader: ${archiving.rating.toUpperCase()} ${archiving.state}: ${archiving.detail}`] : []),
      `Restorable window for --target-time (timeline ${window.targetTimeline}): ${window.earliest ? `${window.earliest} .. ${window.latest}` : 'none'}${window.ends === 'commits' ? '' : ' (approximate: archive times)'}`,
      `  ${describeWindow(window)}`,
      ...(window.backups.length ? ['  --latest replays all archived WAL; a window ends just before its last archived commit, which only --latest includes.'] : []),
      ...(window.gaps.length ? [`WAL gaps: ${window.gaps.join(', ')}`] : []),
      ...(c.incomplete.length ? [`Incomplete (no manifest, ignored): ${c.incomplete.join(', ')}`] : []),
      ...c.invalid.map((b) => `Invalid manifest, ignored: ${b.id}: ${b.problem}`),
    ]
    this.out(lines.join('\n'))
    return {location: s3Url(location, ''), backups: c.backups, incomplete: c.incomplete, invalid: c.invalid, walFiles: c.wal.length, window, archiving, storage, versioning, ...(c.retention ? {retention: c.retention} : {})}
  }
}
