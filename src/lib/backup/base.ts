// `backup create`: pg_basebackup (tar, WAL fetched into it) from a healthy replica, streamed to S3
// as a multipart upload while its SHA-256 is computed; the manifest is written last, so a backup
// exists exactly when its manifest does.
import {createHash} from 'node:crypto'
import {PassThrough} from 'node:stream'
import {startBaseBackup} from '../clients/basebackup.js'
import {deleteObject, headObject, putObject, s3Client, uploadStream, type S3Conn} from '../clients/s3.js'
import {failure, refusal} from '../errors.js'
import type {Plan} from '../plan/types.js'
import {readClusterState, type MemberState} from '../postgres/cluster-state.js'
import {isHealthyState} from '../postgres/roles.js'
import type {PgTarget} from '../postgres/switchover.js'
import {backupKey, s3Url, type BackupLocation} from './layout.js'

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
}

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

export async function planBackupCreate(t: PgTarget, binDir: string | undefined, conn: S3Conn, loc: BackupLocation, env: {name: string; protected: boolean}, maxLagBytes: number, out: {manifest?: BackupManifest}): Promise<Plan> {
  const state = await readClusterState(t.name, t.endpoints)
  const source = chooseSource(state.members, maxLagBytes)
  if (!source) throw refusal('NO_BACKUP_SOURCE', `no healthy member of ${t.name} to take a base backup from`, ['`vaultctl status --component postgres` shows why.'])
  const started = new Date()
  const id = backupId(started)
  const tarKey = backupKey(loc, id, 'base.tar')
  const manifestKey = backupKey(loc, id, 'manifest.json')
  const host = source.host!
  const port = source.port!
  let streamed: {bytes: number; sha256: string; log: ReturnType<typeof parseBaseBackupLog>} | undefined
  return {
    command: 'backup create', env: env.name, protected: env.protected,
    summary: `base backup of ${t.name} from ${source.role} ${source.name} to ${s3Url(loc, tarKey)}`,
    observed: {source: `${source.name} (${source.role}, lag ${source.lagBytes ?? 0} B)`, id},
    preconditions: [],
    steps: [
      {
        id: 'base-backup', title: `pg_basebackup from ${source.name} streamed to S3 (multipart, no local copy)`, risk: 'write',
        manual: `PGPASSWORD=... pg_basebackup -h ${host} -p ${port} -U ${t.user} -D - -F tar -X fetch --checkpoint=fast --label vaultctl-${id} --verbose | aws s3 cp - ${s3Url(loc, tarKey)}`,
        async run(ctx) {
          const run = await startBaseBackup(binDir, {host, port, user: t.user, password: t.password}, `vaultctl-${id}`)
          const hash = createHash('sha256')
          let bytes = 0
          const tee = new PassThrough()
          run.stdout.on('data', (c: Buffer) => {
            hash.update(c)
            bytes += c.length
          })
          run.stdout.pipe(tee)
          const client = await s3Client(conn)
          try {
            const timer = setInterval(() => ctx.note(`${(bytes / 1024 / 1024).toFixed(0)} MiB uploaded`), 1000)
            let uploadError: unknown
            const upload = uploadStream(client, loc.bucket, tarKey, tee, {}).catch((e) => (uploadError = e))
            const r = await run.done
            await upload
            clearInterval(timer)
            if (r.exitCode !== 0 || uploadError) {
              // Nothing may look like a backup that is not one: remove what the upload wrote
              // (without a manifest it is never used, but a 0-byte base.tar misleads a reader).
              await deleteObject(client, loc.bucket, tarKey).catch(() => undefined)
              if (uploadError) throw uploadError
              throw failure('PG_BASEBACKUP_FAILED', `pg_basebackup exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, [`${s3Url(loc, tarKey)} was removed; fix the cause and re-run \`vaultctl backup create\`.`])
            }
            const log = parseBaseBackupLog(r.stderr)
            if (!log.startLsn || !log.endLsn || !log.timeline) throw failure('PG_BASEBACKUP_LOG', `could not read start/end LSN from pg_basebackup's output: ${r.stderr.slice(-300)}`)
            streamed = {bytes, sha256: hash.digest('hex'), log}
            return {detail: `${(bytes / 1024 / 1024).toFixed(1)} MiB, WAL ${log.startLsn}..${log.endLsn} on timeline ${log.timeline}`}
          } finally {
            client.destroy()
          }
        },
        async verify() {
          const client = await s3Client(conn)
          try {
            const head = await headObject(client, loc.bucket, tarKey)
            if (!head || head.size !== streamed?.bytes) throw new Error(`${s3Url(loc, tarKey)} has ${head?.size ?? 'no'} bytes, streamed ${streamed?.bytes}`)
          } finally {
            client.destroy()
          }
        },
      },
      {
        id: 'manifest', title: 'write the backup manifest (the backup exists from now on)', risk: 'write',
        manual: `aws s3 cp manifest.json ${s3Url(loc, manifestKey)}`,
        async run() {
          const s = streamed!
          const manifest: BackupManifest = {
            id, cluster: t.name, source: {member: source.name, role: source.role, host, port}, startedAt: started.toISOString(), finishedAt: new Date().toISOString(),
            timeline: s.log.timeline!, startLsn: s.log.startLsn!, endLsn: s.log.endLsn!, bytes: s.bytes, sha256: s.sha256, key: tarKey, format: 'tar', wal: 'included',
          }
          const client = await s3Client(conn)
          try {
            await putObject(client, loc.bucket, manifestKey, JSON.stringify(manifest, null, 2) + '\n')
          } finally {
            client.destroy()
          }
          out.manifest = manifest
          return {detail: s3Url(loc, manifestKey)}
        },
      },
      ...(state.leader?.host && state.leader.port ? [{
        id: 'switch-wal', title: `on the leader ${state.leader.name}: a restore point and a commit after the backup, then switch WAL, so the backup is restorable at once (even on an idle cluster)`, risk: 'write' as const,
        manual: `psql -h ${state.leader.host} -p ${state.leader.port} -U ${t.user} -c "select pg_create_restore_point('vaultctl-backup-${id}')" -c 'select txid_current()' -c 'select pg_switch_wal()'`,
        async run() {
          // Recovery to a time stops at the first commit after it: without a commit after the
          // backup's end (an idle cluster), no --target-time would be restorable from it. A
          // transaction that takes an xid writes a commit record and touches no table.
          const {withPg} = await import('../clients/postgres.js')
          const lsn = await withPg({host: state.leader!.host!, port: state.leader!.port!, user: t.user, password: t.password, database: t.database}, async (c) => {
            await c.query('select pg_create_restore_point($1)', [`vaultctl-backup-${id}`])
            await c.query('select txid_current()')
            return (await c.query<{lsn: string}>('select pg_switch_wal()::text as lsn')).rows[0]!.lsn
          })
          return {detail: `restore point vaultctl-backup-${id}; switched at ${lsn}`}
        },
      }] : []),
    ],
    recovery: 'An interrupted backup leaves a base.tar without manifest: it is not listed and not used; re-run `vaultctl backup create`.',
  }
}
