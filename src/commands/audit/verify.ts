import {Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {BaseCommand} from '../../base-command.js'
import {auditChainPrefix, auditKey, auditS3Target} from '../../lib/audit/s3.js'
import {usageError} from '../../lib/errors.js'
import {readAudit, verifyChain, type VerifyProblem} from '../../lib/plan/audit.js'

export type AuditVerifyResult = {
  file: string
  ok: boolean
  records: number
  chained: number
  unchained: number
  problems: VerifyProblem[]
  /** the last record: note its hash elsewhere to detect a later truncation of the file */
  head?: {seq: number; hash: string}
  s3?: {bucket: string; prefix: string; objects: number; missingInS3: number[]; notInFile: string[]; uploaded: number[]}
}

export default class AuditVerify extends BaseCommand<typeof AuditVerify> {
  static override summary = 'Check the audit log\'s hash chain: finds an edited, inserted or deleted record'
  static override description = 'Each record holds the hash of the one before it and its own. With --s3 (and audit.s3 in the config) the file is also compared with the records in S3: a record deleted from the end of the file is found there. Exit 1 when anything does not match.'
  static override examples = ['<%= config.bin %> audit verify', '<%= config.bin %> audit verify --s3 --json', '<%= config.bin %> audit verify --s3 --upload-missing']
  static override flags = {
    s3: Flags.boolean({description: 'also compare with the records in S3 (config audit.s3)'}),
    'upload-missing': Flags.boolean({description: 'with --s3: write the records S3 is missing (a run whose upload failed)', dependsOn: ['s3']}),
  }

  async run(): Promise<AuditVerifyResult> {
    let loaded
    try {
      loaded = this.config_()
    } catch (error) {
      if (this.flags.s3) throw error
      // the audit file location defaults without a config
    }
    const file = this.auditFile()
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    const report = verifyChain(text)
    const result: AuditVerifyResult = {file, ...report}
    if (this.flags.s3) {
      const target = loaded ? auditS3Target(loaded, this.environment().name) : undefined
      if (!target) throw usageError('AUDIT_S3_NOT_CONFIGURED', '--s3: the config has no audit.s3', ['Add audit: {s3: {prefix: vaultctl/}} (the bucket defaults to the environment\'s s3.buckets.audit).'])
      const chained = report.problems.some((p) => p.problem === 'not-json' || p.problem === 'not-a-record') ? [] : readAudit(file).filter((r) => r.hash && r.seq)
      const {s3Client} = await import('../../lib/clients/s3.js')
      const {listAuditKeys, putAuditObject} = await import('../../lib/clients/audit-s3.js')
      const client = await s3Client(target.conn)
      try {
        const prefixes = [...new Set(chained.map((r) => auditChainPrefix(target.prefix, r.host, r.user)))]
        const inS3 = new Set((await Promise.all(prefixes.map((p) => listAuditKeys(client, target.bucket, p)))).flat())
        const local = new Map(chained.map((r) => [auditKey(target.prefix, r as {host: string; user: string; seq: number; hash: string}), r]))
        const missing = [...local].filter(([k]) => !inS3.has(k))
        const uploaded: number[] = []
        if (this.flags['upload-missing']) {
          for (const [k, r] of missing) {
            await putAuditObject(client, target.bucket, k, JSON.stringify(r) + '\n', target.retention)
            uploaded.push(r.seq!)
          }
        }
        result.s3 = {bucket: target.bucket, prefix: target.prefix, objects: inS3.size, missingInS3: missing.map(([, r]) => r.seq!).filter((s) => !uploaded.includes(s)),
          notInFile: [...inS3].filter((k) => !local.has(k)), uploaded}
        if (result.s3.notInFile.length > 0) result.ok = false
      } finally {
        client.destroy()
      }
    }
    const lines = [
      `${file}: ${report.records} record(s), ${report.chained} chained${report.unchained ? `, ${report.unchained} from before the chain (not verifiable)` : ''}`,
      ...report.problems.map((p) => `  line ${p.line}${p.seq ? ` (record ${p.seq})` : ''}: ${p.problem}: ${p.detail}`),
      ...(report.head ? [`  head: record ${report.head.seq}, ${report.head.hash}`] : []),
      ...(result.s3 ? [
        `S3 s3://${result.s3.bucket}/${result.s3.prefix}: ${result.s3.objects} object(s)`,
        ...(result.s3.notInFile.length ? [`  in S3 but not in the file (deleted from it): ${result.s3.notInFile.join(', ')}`] : []),
        ...(result.s3.missingInS3.length ? [`  not in S3 yet: record(s) ${result.s3.missingInS3.join(', ')} (vaultctl audit verify --s3 --upload-missing)`] : []),
        ...(result.s3.uploaded.length ? [`  uploaded: record(s) ${result.s3.uploaded.join(', ')}`] : []),
      ] : []),
      result.ok ? 'OK: the chain is intact.' : 'NOT OK: the audit log was changed (see above).',
    ]
    this.out(lines.join('\n'))
    if (!result.ok) process.exitCode = 1
    return result
  }
}
