// The lab's daemons: how each is started (argv, as an operator would type it), where its pid
// file and log live, and how we know it is really ready (not just that the process exists).
import {pathExists, readText} from '../clients/files.js'
import {registerSecret} from '../config/secrets.js'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {httpJson} from '../clients/http.js'
import {getCluster, setPatroniAccess} from '../clients/patroni.js'
import {setPgTls} from '../clients/postgres.js'
import {setRedisAccess} from '../clients/redis.js'
import {isRoot, lookupUser, runningPid, type SpawnSpec} from '../clients/process.js'
import {PG_BIN_DIR, binaryPath} from './binaries.js'
import {archiveCommand} from './archiving.js'
import {KUBE_SERVICES, VELERO_SERVICE, kubeHealthUrl, kubeServices, kubeSpawnSpec, pkiDir, type KubeService} from './kubernetes.js'
import {LAB_BUCKETS, PG_MEMBERS, REDIS_NODES, portOf, type LabLayout} from './layout.js'

export type ServiceName = 'etcd' | `patroni-${1 | 2 | 3}` | `redis-${1 | 2 | 3 | 4 | 5 | 6}` | 's3' | 'prometheus' | KubeService

export const pidFile = (l: LabLayout, s: string) => join(l.dir, 'run', `${s}.pid`)
export const logFile = (l: LabLayout, s: string) => join(l.dir, 'logs', `${s}.log`)
export const secretFile = (l: LabLayout, name: string) => join(l.dir, 'secrets', name)
export const memberName = (i: number) => `pg-${i}`
export const memberDir = (l: LabLayout, i: number) => join(l.pgRoot, memberName(i))
export const walArchiveDir = (l: LabLayout) => join(l.pgRoot, 'wal-archive')
export const redisDir = (l: LabLayout, i: number) => join(l.dir, `redis-${i}`)
export const patroniUrl = (l: LabLayout, i: number) => `https://127.0.0.1:${portOf(l, `patroni-${i}`)}`

/** The lab's CA (made by lab up; its key stays in the lab dir) and the PostgreSQL/Patroni server
 *  certificate for 127.0.0.1 (with a copy of the CA) where the postgres user can read them. */
export const labCaFile = (l: LabLayout) => join(l.dir, 'tls', 'ca.crt')
export const pgTlsDir = (l: LabLayout) => join(l.pgRoot, 'tls')
export const PATRONI_REST_USER = 'vaultctl'

/** How the lab's own commands reach its Patroni REST API: basic auth, the lab CA. */
export function labPatroniAccess(l: LabLayout): {username: string; password: string; caFile: string} {
  const password = readText(secretFile(l, 'patroni-rest'))?.trim() ?? ''
  registerSecret(password)
  return {username: PATRONI_REST_USER, password, caFile: labCaFile(l)}
}
export const labPgTls = (l: LabLayout) => ({sslmode: 'verify-full' as const, rootCertFile: labCaFile(l)})

/** The lab commands (lab up, down, status) reach the lab's Patroni and PostgreSQL as its environment does. */
export function useLabAccess(l: LabLayout): void {
  setPatroniAccess(() => labPatroniAccess(l))
  setPgTls(l.components.includes('postgres') ? labPgTls(l) : undefined)
  setRedisAccess(l.components.includes('redis') ? {tls: {caFile: labCaFile(l)}} : {})
}

/** The services a lab runs, in start order. */
export const allServices = (l: LabLayout): ServiceName[] => [
  ...(l.components.includes('postgres') ? ['etcd' as const, ...PG_MEMBERS.map((i) => `patroni-${i}` as const)] : []),
  ...(l.components.includes('redis') ? REDIS_NODES.map((i) => `redis-${i}` as const) : []),
  ...(l.components.includes('s3') ? ['s3' as const] : []),
  ...(l.components.includes('prometheus') ? ['prometheus' as const] : []),
  ...(l.components.includes('kubernetes') ? kubeServices(l) : []),
]

const isKube = (s: string): s is KubeService => (KUBE_SERVICES as readonly string[]).includes(s) || s === VELERO_SERVICE

/** The port a service is checked on (Velero: its metrics endpoint). */
export const servicePort = (l: LabLayout, s: ServiceName): number => portOf(l, s === VELERO_SERVICE ? 'velero-metrics' : s)

export const isRunning = (l: LabLayout, s: string) => runningPid(pidFile(l, s)) !== undefined

/** The user PostgreSQL runs as: `postgres` when we are root, else ourselves. */
export function pgUser(): {uid: number; gid: number} | undefined {
  if (!isRoot()) return undefined
  const u = lookupUser('postgres')
  if (!u) throw new Error('running as root but there is no "postgres" user: install postgresql-15 (it creates one)')
  return {uid: u.uid, gid: u.gid}
}

/** prometheus.yml of the lab: Prometheus itself, and the Patroni members when the lab runs them. */
export function prometheusConfig(l: LabLayout): string {
  return stringify({
    global: {scrape_interval: '15s'},
    scrape_configs: [
      {job_name: 'prometheus', static_configs: [{targets: [`127.0.0.1:${l.ports.prometheus}`]}]},
      ...(l.components.includes('postgres') ? [{job_name: 'patroni', scheme: 'https', tls_config: {ca_file: labCaFile(l)}, static_configs: [{targets: PG_MEMBERS.map((i) => `127.0.0.1:${portOf(l, `patroni-${i}`)}`)}]}] : []),
    ],
  })
}

/** A member's patroni.yml (it holds the cluster's passwords: written mode 600). */
export function patroniConfig(l: LabLayout, i: number, superPw: string, replPw: string, restPw: string): string {
  const tls = pgTlsDir(l)
  const verify = {sslmode: 'verify-full', sslrootcert: join(tls, 'ca.crt')}
  const rest = portOf(l, `patroni-${i}`)
  const pg = portOf(l, `postgres-${i}`)
  const dir = memberDir(l, i)
  return stringify({
    scope: l.cluster,
    namespace: '/vaultctl/',
    name: memberName(i),
    log: {level: 'INFO'},
    // HTTPS with the lab CA's certificate, and a password for every unsafe request (POST, PATCH, ...).
    restapi: {listen: `127.0.0.1:${rest}`, connect_address: `127.0.0.1:${rest}`, certfile: join(tls, 'server.crt'), keyfile: join(tls, 'server.key'),
      authentication: {username: PATRONI_REST_USER, password: restPw}},
    ctl: {cacert: join(tls, 'ca.crt')},
    etcd3: {hosts: `127.0.0.1:${l.ports.etcd}`},
    bootstrap: {
      dcs: {
        ttl: 20, loop_wait: 2, retry_timeout: 5, maximum_lag_on_failover: 1_048_576,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica', hot_standby: 'on', max_wal_senders: 10, max_replication_slots: 10, wal_log_hints: 'on',
            archive_mode: 'on', archive_timeout: 60,
            archive_command: archiveCommand(l, walArchiveDir(l)),
          },
        },
      },
      initdb: [{encoding: 'UTF8'}, {locale: 'C'}, 'data-checksums'],
    },
    postgresql: {
      listen: `127.0.0.1:${pg}`,
      connect_address: `127.0.0.1:${pg}`,
      data_dir: join(dir, 'data'),
      bin_dir: PG_BIN_DIR,
      pgpass: join(dir, 'pgpass'),
      authentication: {
        superuser: {username: 'postgres', password: superPw, ...verify},
        replication: {username: 'replicator', password: replPw, ...verify},
        rewind: {username: 'postgres', password: superPw, ...verify},
      },
      parameters: {unix_socket_directories: join(l.pgRoot, 'run'), shared_buffers: '32MB', max_connections: 50,
        ssl: 'on', ssl_cert_file: join(tls, 'server.crt'), ssl_key_file: join(tls, 'server.key'), ssl_ca_file: join(tls, 'ca.crt')},
      pg_hba: [
        'local all all trust',
        // Over TCP only with TLS (the lab CA): every client, replication included.
        'hostssl all all 127.0.0.1/32 scram-sha-256',
        'hostssl replication replicator 127.0.0.1/32 scram-sha-256',
        // vaultctl backup create runs pg_basebackup as the superuser the environment names
        'hostssl replication postgres 127.0.0.1/32 scram-sha-256',
      ],
    },
    tags: {nofailover: false, noloadbalance: false, clonefrom: false, nosync: false},
  })
}

const bin = (name: string) => binaryPath(name) ?? name

/** How each service is started. */
export function spawnSpec(l: LabLayout, s: ServiceName): SpawnSpec {
  const common = {pidFile: pidFile(l, s), logFile: logFile(l, s)}
  if (isKube(s)) return kubeSpawnSpec(l, s, common)
  if (s === 'etcd') {
    const peer = `http://127.0.0.1:${l.ports['etcd-peer']}`
    return {...common, command: bin('etcd'), args: [
      '--name', 'lab', '--data-dir', join(l.dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${l.ports.etcd}`, '--advertise-client-urls', `http://127.0.0.1:${l.ports.etcd}`,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `lab=${peer}`,
      '--initial-cluster-state', pathExists(join(l.dir, 'etcd')) ? 'existing' : 'new', '--log-level', 'warn',
    ]}
  }
  if (s.startsWith('patroni-')) {
    const i = Number(s.split('-')[1])
    const u = pgUser()
    return {...common, command: bin('patroni'), args: [join(memberDir(l, i), 'patroni.yml')], cwd: memberDir(l, i),
      env: {HOME: memberDir(l, i)}, ...(u ? {user: u} : {})}
  }
  if (s.startsWith('redis-')) {
    const i = Number(s.split('-')[1])
    return {...common, command: bin('redis-server'), args: [
      // TLS only (no plain port), the cluster bus and replication too, with the lab CA's certificate.
      '--port', '0', '--tls-port', String(portOf(l, `redis-${i}`)), '--tls-cert-file', join(l.dir, 'tls', 'redis.crt'), '--tls-key-file', join(l.dir, 'tls', 'redis.key'),
      '--tls-ca-cert-file', labCaFile(l), '--tls-cluster', 'yes', '--tls-replication', 'yes', '--tls-auth-clients', 'no', '--bind', '127.0.0.1', '--protected-mode', 'no', '--daemonize', 'no',
      '--dir', redisDir(l, i), '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    ], cwd: redisDir(l, i)}
  }
  if (s === 's3') {
    const access = secretFile(l, 's3-access-key')
    const secretKey = secretFile(l, 's3-secret-key')
    if (l.s3Server === 'minio') {
      return {...common, command: bin('minio'), args: ['server', join(l.dir, 's3'), '--address', `127.0.0.1:${l.ports.s3}`,
        '--console-address', `127.0.0.1:${l.ports['s3-console']}`, '--quiet'],
      env: {MINIO_BROWSER: 'off'}, envFromFiles: {MINIO_ROOT_USER: access, MINIO_ROOT_PASSWORD: secretKey}}
    }
    return {...common, command: bin('moto_server'), args: ['-H', '127.0.0.1', '-p', String(l.ports.s3)],
      envFromFiles: {AWS_ACCESS_KEY_ID: access, AWS_SECRET_ACCESS_KEY: secretKey}}
  }
  return {...common, command: bin('prometheus'), args: [
    `--config.file=${join(l.dir, 'prometheus', 'prometheus.yml')}`, `--storage.tsdb.path=${join(l.dir, 'prometheus', 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${l.ports.prometheus}`, '--storage.tsdb.retention.time=30d', '--log.level=warn',
  ]}
}

export type Readiness = {ready: boolean; detail: string}

/** Is the service answering on its own protocol? */
export async function checkReady(l: LabLayout, s: ServiceName): Promise<Readiness> {
  try {
    if (isKube(s)) return await kubeReady(l, s)
    if (s === 'etcd') {
      const r = await httpJson<{health?: string}>(`http://127.0.0.1:${l.ports.etcd}/health`, {timeoutMs: 1500})
      return {ready: r.body?.health === 'true', detail: `health=${r.body?.health ?? r.status}`}
    }
    if (s.startsWith('patroni-')) {
      const i = Number(s.split('-')[1])
      const c = await getCluster(patroniUrl(l, i), 1500)
      const me = c.members.find((m) => m.name === memberName(i))
      const ok = !!me && ['running', 'streaming'].includes(me.state)
      return {ready: ok, detail: me ? `${me.role} ${me.state}` : 'not yet a cluster member'}
    }
    if (s.startsWith('redis-')) {
      const {redisCommand} = await import('../clients/redis.js')
      const pong = await redisCommand({host: '127.0.0.1', port: portOf(l, s)}, 'PING')
      return {ready: pong === 'PONG', detail: String(pong)}
    }
    if (s === 's3') {
      const path = l.s3Server === 'minio' ? '/minio/health/ready' : '/moto-api/'
      const r = await httpJson(`http://127.0.0.1:${l.ports.s3}${path}`, {timeoutMs: 1500})
      return {ready: r.status === 200, detail: `${l.s3Server} HTTP ${r.status}`}
    }
    const r = await httpJson(`http://127.0.0.1:${l.ports.prometheus}/-/ready`, {timeoutMs: 1500})
    return {ready: r.status === 200, detail: `HTTP ${r.status}`}
  } catch (error) {
    return {ready: false, detail: (error as Error).message}
  }
}

async function kubeReady(l: LabLayout, s: KubeService): Promise<Readiness> {
  const url = kubeHealthUrl(l, s)
  if (url.startsWith('http:')) {
    const r = await httpJson<{health?: string}>(url, {timeoutMs: 1500})
    return s === 'kube-etcd' ? {ready: r.body?.health === 'true', detail: `health=${r.body?.health ?? r.status}`} : {ready: r.status === 200, detail: `HTTP ${r.status}`}
  }
  const {tlsGet} = await import('../clients/kube.js')
  const pki = pkiDir(l)
  const r = await tlsGet(url, s === 'kube-apiserver' ? {ca: join(pki, 'ca.crt'), cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key'), timeoutMs: 1500} : {timeoutMs: 1500})
  return {ready: r.status === 200 && r.text.trim() === 'ok', detail: `HTTP ${r.status} ${r.text.trim().split('\n').at(-1)?.slice(0, 80) ?? ''}`}
}

export const LAB_REGION = 'us-east-1'
export {LAB_BUCKETS}
