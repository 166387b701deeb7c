import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import {readAudit, type ReadRecord} from '../../lib/plan/audit.js'
import {table} from '../../lib/table.js'
import {parseDuration} from '../../lib/units.js'

export type AuditListResult = {file: string; records: ReadRecord[]}

export default class AuditList extends BaseCommand<typeof AuditList> {
  static override summary = 'Show the audit log: one record per executed plan'
  static override examples = ['<%= config.bin %> audit list --since 24h', '<%= config.bin %> audit list --since 2026-11-01T00:00:00Z --json']
  static override flags = {
    since: Flags.string({description: 'only records since this time: a duration ago (24h, 7d) or an ISO 8601 time'}),
  }

  async run(): Promise<AuditListResult> {
    let since: Date | undefined
    if (this.flags.since) {
      const ago = parseDuration(this.flags.since)
      since = ago === undefined ? new Date(this.flags.since) : new Date(Date.now() - ago * 1000)
      if (Number.isNaN(since.getTime())) throw usageError('BAD_SINCE', `--since ${this.flags.since}: expected a duration (24h) or an ISO 8601 time`)
    }
    try {
      this.config_()
    } catch {
      // the audit file location defaults without a config
    }
    const file = this.auditFile()
    const records = readAudit(file, since)
    this.out(records.length === 0 ? `No audit records in ${file}${since ? ` since ${since.toISOString()}` : ''}.` : table(['TIME', 'USER', 'ENV', 'COMMAND', 'STATUS', 'DURATION', 'PLAN'],
      records.map((r) => [r.time, r.user, r.env, r.command, r.status, `${(r.durationMs / 1000).toFixed(1)}s`, r.planHash])))
    return {file, records}
  }
}
