import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {instantFlag} from '../../lib/flags.js'
import {s3Conn, s3Of} from '../../lib/s3/conn.js'
import {groupByKey, stateAt, type VersionEntry} from '../../lib/s3/versions.js'
import {table} from '../../lib/table.js'
import {formatBytes} from '../../lib/units.js'

export type S3HistoryResult = {bucket: string; prefix: string; at?: string; versions: (VersionEntry & {current: boolean})[]}

export default class S3History extends BaseCommand<typeof S3History> {
  static override summary = 'Every version and delete marker of a prefix or key, newest first; --at T shows each key\'s state at T'
  static override examples = ['<%= config.bin %> s3 history --bucket vault-data --key datasets/a.json', '<%= config.bin %> s3 history --prefix datasets/ --at 2026-11-27T14:30:00Z --json']
  static override flags = {
    bucket: Flags.string({description: 'the bucket (default: the environment\'s data bucket)'}),
    prefix: Flags.string({description: 'the keys under this prefix', exclusive: ['key']}),
    key: Flags.string({description: 'one key'}),
    at: instantFlag({description: 'show only what was current at this time (ISO 8601 with its UTC offset)'}),
  }

  async run(): Promise<S3HistoryResult> {
    const r = this.environment()
    const s3 = s3Of(r.env, r.name)
    const bucket = this.flags.bucket ?? s3.buckets.data
    const prefix = this.flags.key ?? this.flags.prefix ?? ''
    const {s3Client} = await import('../../lib/clients/s3.js')
    const {listVersions} = await import('../../lib/clients/s3-versions.js')
    const client = await s3Client(s3Conn(s3), {maxAttempts: 8, retryMode: 'adaptive'})
    let histories
    try {
      histories = groupByKey(await listVersions(client, bucket, prefix)).filter((h) => this.flags.key === undefined || h.key === this.flags.key)
    } finally {
      client.destroy()
    }
    const at = this.flags.at
    const versions = histories.flatMap((h) => (at ? [stateAt(h, at)].filter((e): e is VersionEntry => e !== undefined) : h.entries).map((e) => ({...e, current: e.isLatest})))
    this.out(table(['KEY', 'VERSION', 'LAST MODIFIED', 'SIZE', 'ETAG', 'STATE'], versions.map((v) => [v.key, v.versionId, v.lastModified, v.deleteMarker ? '' : formatBytes(v.size ?? 0),
      v.etag ?? '', `${v.deleteMarker ? 'delete marker' : 'version'}${v.current ? ' (current)' : ''}`])))
    return {bucket, prefix, ...(at ? {at: at.toISOString()} : {}), versions}
  }
}
