// The lab's files on disk, written by `lab.prepare`: directories, secrets (generated once, mode
// 600, kept when present), lab.json, each member's patroni.yml, prometheus.yml, and the WAL
// runtime PostgreSQL archives through. Their content comes from src/lib/lab (pure).
import {randomBytes} from 'node:crypto'
import {chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {archiveDir, archivesToS3} from '../lab/archiving.js'
import {LAB_BUCKETS, PG_MEMBERS, REDIS_NODES, type LabLayout} from '../lab/layout.js'
import {LAB_REGION, memberDir, patroniConfig, patroniUrl, pgUser, prometheusConfig, redisDir, secretFile, walArchiveDir} from '../lab/services.js'
import {writeWalRuntime} from './wal-runtime.js'
import {writePrivate} from './files.js'
import {registerSecret} from '../config/secrets.js'
import {veleroTmpDir} from '../lab/kubernetes.js'

function secret(l: LabLayout, name: string, length = 24): string {
  const f = secretFile(l, name)
  if (!existsSync(f)) writePrivate(f, randomBytes(length).toString('base64url').slice(0, length))
  chmodSync(f, 0o600)
  const value = readFileSync(f, 'utf8').trim()
  registerSecret(value)
  return value
}

function chownTree(path: string, uid: number, gid: number): void {
  const st = statSync(path)
  // A hard link (the node binary) is shared with its other name: leave its owner alone.
  if ((st.uid !== uid || st.gid !== gid) && !(st.isFile() && st.nlink > 1)) chownSync(path, uid, gid)
  if (st.isDirectory() && !path.endsWith('/data')) {
    for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid)
  }
}

function preparePostgres(l: LabLayout, su: string, repl: string): void {
  mkdirSync(l.pgRoot, {recursive: true, mode: 0o700})
  mkdirSync(join(l.pgRoot, 'run'), {recursive: true})
  mkdirSync(walArchiveDir(l), {recursive: true})
  if (archivesToS3(l)) {
    writeWalRuntime(archiveDir(l), {
      cluster: l.cluster,
      endpoints: PG_MEMBERS.map((i) => patroniUrl(l, i)),
      backup: {bucket: LAB_BUCKETS.backups, prefix: 'postgres/'},
      s3: {endpoint: `http://127.0.0.1:${l.ports.s3}`, region: LAB_REGION, forcePathStyle: true, accessKeyId: secret(l, 's3-access-key', 12), secretAccessKey: secret(l, 's3-secret-key', 32)},
    })
  }
  for (const i of PG_MEMBERS) {
    mkdirSync(memberDir(l, i), {recursive: true, mode: 0o700})
    writePrivate(join(memberDir(l, i), 'patroni.yml'), patroniConfig(l, i, su, repl))
  }
  const u = pgUser()
  if (u) chownTree(l.pgRoot, u.uid, u.gid)
}

/** Directories, secrets and config files. Idempotent: existing secrets and data are kept. */
export function prepareLabFiles(l: LabLayout): void {
  for (const d of ['run', 'logs', 'secrets', 'prometheus', 's3']) mkdirSync(join(l.dir, d), {recursive: true, mode: 0o700})
  writeFileSync(join(l.dir, 'lab.json'), JSON.stringify(l, null, 2) + '\n')
  const su = secret(l, 'postgres-superuser')
  const repl = secret(l, 'postgres-replication')
  secret(l, 's3-access-key', 12)
  secret(l, 's3-secret-key', 32)
  if (l.components.includes('postgres')) preparePostgres(l, su, repl)
  if (l.components.includes('redis')) for (const i of REDIS_NODES) mkdirSync(redisDir(l, i), {recursive: true})
  if (l.components.includes('kubernetes')) mkdirSync(veleroTmpDir(l), {recursive: true, mode: 0o700})
  if (l.components.includes('prometheus')) writeFileSync(join(l.dir, 'prometheus', 'prometheus.yml'), prometheusConfig(l))
}
