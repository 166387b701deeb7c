import {Args} from '@oclif/core'
import {BaseCommand, hiddenPlanFlags} from '../../base-command.js'
import {backupTarget} from '../../lib/backup/location.js'
import {pushWal, type WalResult} from '../../lib/backup/wal.js'

/** What --json prints. */
export type WalPushResult = WalResult

// Normally answered by the fast entry point (src/wal-entry.ts, via bin/run.js) without loading
// oclif; this class documents the command and serves the same function if oclif runs it.
export default class WalPush extends BaseCommand<typeof WalPush> {
  static override summary = 'archive_command: copy one WAL file to the backup location in S3 (checksummed; idempotent)'
  static override description = 'Use as: archive_command = \'vaultctl wal push %p --env ENV\'. A file already archived with the same SHA-256 is success. An archived file is never overwritten: different content is an error (exit 1) when the file is part of the restorable history, and is kept under wal-diverged/ (exit 0, warning) when it belongs to an abandoned timeline. Segments are stored zstd-compressed (level 1) unless postgres.backup.walCompression is none; the sha256 metadata is always that of the segment itself.'
  // Only what the small entry point understands: no plan, so no --dry-run/--yes/--confirm/--debug.
  static override baseFlags = {...BaseCommand.baseFlags, ...hiddenPlanFlags}
  static override args = {path: Args.string({description: 'the WAL file (%p)', required: true})}

  async run(): Promise<WalPushResult> {
    const {args} = await this.parse(WalPush)
    const {name, env} = this.environment()
    const {location, conn, walCompression} = backupTarget(env, name)
    return pushWal(conn, location, args.path, walCompression)
  }
}
