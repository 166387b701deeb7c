import {Args} from '@oclif/core'
import {BaseCommand, hiddenPlanFlags} from '../../base-command.js'
import {backupTarget} from '../../lib/backup/location.js'
import {fetchWal, type WalResult} from '../../lib/backup/wal.js'

/** What --json prints. */
export type WalFetchResult = WalResult

// Normally answered by the fast entry point (src/wal-entry.ts); see wal push.
export default class WalFetch extends BaseCommand<typeof WalFetch> {
  static override summary = 'restore_command: fetch one WAL file from the backup location (checksum verified; exit 1 if absent)'
  static override description = 'Use as: restore_command = \'vaultctl wal fetch %f %p --env ENV\'. The file is written beside DEST and renamed, so PostgreSQL never reads a partial segment.'
  // Only what the small entry point understands: no plan, so no --dry-run/--yes/--confirm/--debug.
  static override baseFlags = {...BaseCommand.baseFlags, ...hiddenPlanFlags}
  static override args = {
    name: Args.string({description: 'the WAL file name (%f)', required: true}),
    dest: Args.string({description: 'where to write it (%p)', required: true}),
  }

  async run(): Promise<WalFetchResult> {
    const {args} = await this.parse(WalFetch)
    const {name, env} = this.environment()
    const {location, conn} = backupTarget(env, name)
    const r = await fetchWal(conn, location, args.name, args.dest)
    if (r.outcome === 'missing') process.exitCode = 1
    return r
  }
}
