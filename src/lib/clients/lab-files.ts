// The lab's files on disk, written by `lab.prepare`: directories, secrets (generated once, mode
// 600, kept when present), lab.json, each member's patroni.yml, prometheus.yml, and the WAL
// runtime PostgreSQL archives through. Their content comes from src/lib/lab (pure).
import {randomBytes} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {archiveDir, archivesToS3} from '../lab/archiving.js'
import {LAB_BUCKETS, PG_MEMBERS, REDIS_NODES, type LabLayout} from '../lab/layout.js'
import {LAB_REGION, labCaFile, pgTlsDir, memberDir, patroniConfig, patroniUrl, pgUser, prometheusConfig, redisDir, secretFile, walArchiveDir} from '../lab/services.js'
import {writeWalRuntime} from './wal-runtime.js'
import {childEnv} from './child-env.js'
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

const openssl = (args: string[]) => execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe'], env: childEnv()})
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** The lab CA (once) and the PostgreSQL/Patroni server certificate for 127.0.0.1 signed by it (once). */
function prepareTls(l: LabLayout): void {
  const caDir = dirname(labCaFile(l))
  mkdirSync(caDir, {recursive: true, mode: 0o700})
  const caKey = join(caDir, 'ca.key')
  if (!existsSync(labCaFile(l)) || !existsSync(caKey)) openssl(['req', '-x509', ...EC, '-keyout', caKey, '-out', labCaFile(l), '-days', '3650', '-subj', '/CN=vaultctl-lab-ca'])
  const serverCert = (dir: string, name: string) => {
    const crt = join(dir, `${name}.crt`)
    const key = join(dir, `${name}.key`)
    if (!existsSync(crt) || !existsSync(key)) {
      openssl(['req', ...EC, '-keyout', key, '-out', join(dir, `${name}.csr`), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'])
      openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', labCaFile(l), '-CAkey', caKey, '-CAcreateserial', '-out', crt, '-days', '3650', '-copy_extensions', 'copy'])
    }
    // PostgreSQL refuses a key others can read.
    chmodSync(key, 0o600)
  }
  if (l.components.includes('redis')) serverCert(caDir, 'redis')
  if (!l.components.includes('postgres')) return
  const dir = pgTlsDir(l)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  serverCert(dir, 'server')
  copyFileSync(labCaFile(l), join(dir, 'ca.crt'))
}

function preparePostgres(l: LabLayout, su: string, repl: string, rest: string): void {
  mkdirSync(l.pgRoot, {recursive: true, mode: 0o700})
  prepareTls(l)
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
    writePrivate(join(memberDir(l, i), 'patroni.yml'), patroniConfig(l, i, su, repl, rest))
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
  if (l.components.includes('postgres')) preparePostgres(l, su, repl, secret(l, 'patroni-rest'))
  if (l.components.includes('redis') && !l.components.includes('postgres')) prepareTls(l)
  if (l.components.includes('redis')) for (const i of REDIS_NODES) mkdirSync(redisDir(l, i), {recursive: true})
  if (l.components.includes('kubernetes')) mkdirSync(veleroTmpDir(l), {recursive: true, mode: 0o700})
  if (l.components.includes('prometheus')) writeFileSync(join(l.dir, 'prometheus', 'prometheus.yml'), prometheusConfig(l))
}
