import {BaseCommand} from '../../base-command.js'
import type {BackupManifest} from '../../lib/backup/base.js'
import {readCatalog} from '../../lib/backup/catalog.js'
import {backupTarget} from '../../lib/backup/location.js'
import {s3Url, walPrefix} from '../../lib/backup/layout.js'
import {describeWindow, type Window} from '../../lib/backup/window.js'
import {table} from '../../lib/table.js'
import {formatBytes} from '../../lib/units.js'

export type BackupListResult = {location: string; backups: BackupManifest[]; incomplete: string[]; walFiles: number; window: Window}

export default class BackupList extends BaseCommand<typeof BackupList> {
  static override summary = 'Base backups and the restorable window computed from them plus the continuous WAL after them (gaps reported)'

  async run(): Promise<BackupListResult> {
    const {name, env} = this.environment()
    const {location, conn} = backupTarget(env, name)
    const c = await readCatalog(conn, location)
    const lines = [
      c.backups.length ? table(['BACKUP', 'FINISHED', 'SOURCE', 'TL', 'START LSN', 'END LSN', 'SIZE'],
        c.backups.map((b) => [b.id, b.finishedAt, `${b.source.member} (${b.source.role})`, String(b.timeline), b.startLsn, b.endLsn, formatBytes(b.bytes)])) : 'No base backups.',
      '',
      `WAL files archived: ${c.wal.length} in ${s3Url(location, walPrefix(location))}`,
      `Restorable window (target timeline ${c.window.targetTimeline}): ${c.window.earliest ? `${c.window.earliest} .. ${c.window.latest}` : 'none'}`,
      `  ${describeWindow(c.window)}`,
      ...(c.window.gaps.length ? [`WAL gaps: ${c.window.gaps.join(', ')}`] : []),
      ...(c.incomplete.length ? [`Incomplete (no manifest, ignored): ${c.incomplete.join(', ')}`] : []),
    ]
    this.out(lines.join('\n'))
    return {location: s3Url(location, ''), backups: c.backups, incomplete: c.incomplete, walFiles: c.wal.length, window: c.window}
  }
}
