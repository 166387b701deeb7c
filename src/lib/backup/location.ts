// The backup location and S3 connection of an environment (postgres.backup + s3).
import type {Environment} from '../config/schema.js'
import {usageError} from '../errors.js'
import {s3Conn} from '../s3/conn.js'
import type {S3Conn} from '../clients/s3.js'
import type {BackupLocation} from './layout.js'

type BackupSettings = NonNullable<Extract<NonNullable<Environment['postgres']>, {kind: 'patroni'}>['backup']>
export type BackupCompression = BackupSettings['compression']
export type RetentionPolicy = BackupSettings['retention']

export function backupTarget(env: Environment, envName: string): {location: BackupLocation; conn: S3Conn; compression: BackupCompression; walCompression: 'zstd' | 'none'; retention: RetentionPolicy} {
  const pg = env.postgres
  if (!pg || pg.kind !== 'patroni') throw usageError('NO_PATRONI', `environment "${envName}" has no Patroni postgres section: WAL archiving and base backups are for Patroni clusters`)
  if (!pg.backup) throw usageError('NO_BACKUP_LOCATION', `environment "${envName}" has no postgres.backup location`, ['Add postgres.backup: {bucket: vault-backups, prefix: postgres/}.'])
  if (!env.s3) throw usageError('NO_S3', `environment "${envName}" has no s3 section to reach ${pg.backup.bucket}`, ['Add s3: {region, buckets: ...} (and endpoint for MinIO).'])
  const b = pg.backup
  return {location: {bucket: b.bucket, prefix: b.prefix, cluster: pg.cluster}, conn: s3Conn(env.s3), compression: b.compression, walCompression: b.walCompression, retention: b.retention}
}
