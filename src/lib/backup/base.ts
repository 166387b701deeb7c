// `backup create`: pg_basebackup (tar, WAL fetched into it) from a healthy replica, streamed to S3
// as a multipart upload while its SHA-256 is computed; the manifest is written last, so a backup
// exists exactly when its manifest does.
import {z} from 'zod'
import {refusal} from '../errors.js'
import type {S3Where} from '../plan/operations.js'
import type {Plan, Step} from '../plan/types.js'
import type {ClusterState, MemberState} from '../postgres/cluster-state.js'
import {isHealthyState} from '../postgres/roles.js'
import type {PgTarget} from '../postgres/switchover.js'
import {basePrefix as basePrefixOf, s3Url, type BackupLocation} from './layout.js'
import {baseFileName, describeCompression, type BaseCompression, type CompressionMethod} from './compression.js'

export type BackupManifest = {
  id: string
  cluster: string
  source: {member: string; role: string; host: string; port: number}
  startedAt: string
  finishedAt: string
  timeline: number
  startLsn: string
  endLsn: string
  bytes: number
  sha256: string
  key: string
  format: 'tar'
  wal: 'included'
  /** how base.tar is compressed (absent: a backup from before compression, uncompressed); `bytes` and `sha256` are of the stored object */
  compression?: CompressionMethod
}

export const BackupManifestSchema = z.object({
  id: z.string().regex(/^\d{8}T\d{6}Z$/), cluster: z.string(),
  source: z.object({member: z.string(), role: z.string(), host: z.string(), port: z.number().int()}),
  startedAt: z.iso.datetime(), finishedAt: z.iso.datetime(), timeline: z.number().int().positive(),
  startLsn: z.string().regex(/^[0-9A-F]+\/[0-9A-F]+$/i), endLsn: z.string().regex(/^[0-9A-F]+\/[0-9A-F]+$/i),
  bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/), key: z.string(), format: z.literal('tar'), wal: z.literal('included'),
  compression: z.enum(['zstd', 'lz4', 'none']).optional(),
}) satisfies z.ZodType<BackupManifest>

export const backupId = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')

export function parseBaseBackupLog(stderr: string): {startLsn?: string; timeline?: number; endLsn?: string} {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(stderr)
  const end = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i.exec(stderr)
  return {startLsn: start?.[1], timeline: start ? Number(start[2]) : undefined, endLsn: end?.[1]}
}

/** A replica that streams with little lag, else the leader. */
export function chooseSource(members: MemberState[], maxLagBytes: number): MemberState | undefined {
  const replicas = members.filter((m) => m.role === 'replica' && isHealthyState(m.state) && m.reachable && (m.lagBytes ?? Infinity) <= maxLagBytes && m.host && m.port)
  replicas.sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))
  return replicas[0] ?? members.find((m) => m.role === 'leader' && isHealthyState(m.state) && m.host && m.port)
}

/**
 * The backup as a plan, pure: from an observed cluster to typed operations. The source is a
 * replica that streams with little lag (else the leader); the backup id is the time of the run.
 */
export function planBackupCreate(t: PgTarget, state: ClusterState, binDir: string | undefined, s3: S3Where, loc: BackupLocation, env: {name: string; protected: boolean}, maxLagBytes: number,
  compression: BaseCompression = {method: 'none'}): Plan {
  const source = chooseSource(state.members, maxLagBytes)
  if (!source) throw refusal('NO_BACKUP_SOURCE', `no healthy member of ${t.name} to take a base backup from`, ['`vaultctl status --component postgres` shows why.'])
  const basePrefix = basePrefixOf(loc)
  const leader = state.leader?.host && state.leader.port ? state.leader : undefined
  const steps: Step[] = [
    {id: 'base-backup', title: `pg_basebackup from ${source.name}, ${describeCompression(compression)}, streamed to S3 (parallel multipart, SHA-256 on the way, no local copy)`, risk: 'write',
      op: {kind: 'pg.basebackup-to-s3', source: {member: source.name, role: source.role, host: source.host!, port: source.port!}, user: t.user, ...(binDir ? {binDir} : {}),
        s3, bucket: loc.bucket, basePrefix, cluster: t.name, compression}},
    {id: 'manifest', title: 'write the backup manifest (the backup exists from now on)', risk: 'write',
      op: {kind: 'backup.write-manifest', s3, bucket: loc.bucket, basePrefix}},
    ...(leader ? [{id: 'switch-wal', title: `on the leader ${leader.name}: a restore point and a commit after the backup, then switch WAL, so the backup is restorable at once (even on an idle cluster)`, risk: 'write' as const,
      op: {kind: 'backup.mark-end' as const, leader: {member: leader.name, host: leader.host!, port: leader.port!}, user: t.user, database: t.database}}] : []),
  ]
  return {
    command: 'backup create', env: env.name, protected: env.protected,
    summary: `base backup of ${t.name} from ${source.role} ${source.name} to ${s3Url(loc, `${basePrefix}<id>/${baseFileName(compression.method)}`)} (id: the UTC time of the run)`,
    observed: {source: `${source.name} (${source.role}, lag ${source.lagBytes ?? 0} B)`, leader: leader?.name ?? null},
    fingerprint: {source: source.name, role: source.role, leader: leader?.name ?? null, timeline: state.leader?.timeline ?? null, compression: compression.method},
    preconditions: [], steps,
    recovery: 'An interrupted backup leaves a base.tar without manifest: it is not listed and not used; re-run `vaultctl backup create`.',
  }
}
