// Where audit records go in S3 (config `audit.s3`), and how a record is named there: one object
// per record under <prefix><host>/<user>/, named by its sequence number and hash, so that a
// listing is the chain in order and `audit verify --s3` can tell what either side is missing.
import type {S3Conn} from '../clients/s3.js'
import type {AuditRetention} from '../clients/audit-s3.js'
import type {LoadedConfig} from '../config/load.js'
import {usageError} from '../errors.js'
import type {AuditRecord} from '../plan/audit.js'
import {s3Conn} from '../s3/conn.js'

export type AuditS3Target = {environment: string; conn: S3Conn; bucket: string; prefix: string; retention?: AuditRetention}

/** The S3 target of audit records, or undefined without `audit.s3` (credentials resolved here). */
export function auditS3Target(loaded: LoadedConfig, currentEnv: string): AuditS3Target | undefined {
  const cfg = loaded.config.audit?.s3
  if (!cfg) return undefined
  const name = cfg.environment ?? currentEnv
  const env = loaded.config.environments[name]
  if (!env?.s3) {
    throw usageError('AUDIT_S3_NO_ENV', `audit.s3: environment ${name} ${env ? 'has no s3 section' : 'does not exist'}`,
      ['Set audit.s3.environment to an environment with an s3 section, or remove audit.s3.'])
  }
  return {environment: name, conn: s3Conn(env.s3), bucket: cfg.bucket ?? env.s3.buckets.audit, prefix: cfg.prefix, ...(cfg.retention ? {retention: cfg.retention} : {})}
}

const safe = (s: string) => s.replace(/[^\w.-]/g, '_')

export const auditChainPrefix = (prefix: string, host: string, user: string) => `${prefix}${safe(host)}/${safe(user)}/`

export const auditKey = (prefix: string, rec: Pick<AuditRecord, 'host' | 'user' | 'seq' | 'hash'>) =>
  `${auditChainPrefix(prefix, rec.host, rec.user)}${String(rec.seq).padStart(10, '0')}-${rec.hash.slice(0, 16)}.json`
