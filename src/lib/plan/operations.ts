// What a step does, as data. A plan step carries one operation: the executor (clients/operations)
// runs it, the plan prints the command an operator would type from the same object (manual()),
// and the plan hash covers it. Operations hold no secrets: the executor resolves them.
import {createHash} from 'node:crypto'
import type {BackupManifest} from '../backup/base.js'
import {baseFileName, compressArgs, type BaseCompression, type CompressionMethod} from '../backup/compression.js'
import {manualRestore, type RestoreOperation, type RestoreOperationResult} from './ops-restore.js'
import {manualLab, type LabOperation, type LabOperationResult} from './ops-lab.js'
import {manualS3, type S3Operation, type S3OperationResult} from './ops-s3.js'
import {isKubeOperation, manualKube, type KubeOperation, type KubeOperationResult} from './ops-kube.js'
import {isDrillOperation, manualDrill, type DrillOperation, type DrillOperationResult} from './ops-drill.js'

/** Patroni's REST API: a switchover, failover, or the cancellation of a scheduled one. */
export type PatroniRequest = {
  kind: 'patroni.request'
  /** the member's REST base URL (http://host:8008) */
  api: string
  method: 'POST' | 'DELETE'
  path: '/switchover' | '/failover'
  body?: Record<string, string>
  /** status codes that mean accepted */
  expect: number[]
  /** for the printed curl: the REST user and CA (the password is $PATRONI_REST_PASSWORD) */
  rest?: {username?: string; caFile?: string}
  /** for the patronictl spelling of the same request */
  patronictl: {config: string; cluster: string}
  /** Patroni answers a switchover or failover only once it has seen the outcome: send it and move on; a refusal (412) comes back at once */
  detach?: boolean
}

/** Wait until a member other than `oldLeader` leads on a timeline after `afterTimeline` and takes a write. */
export type AwaitWritableLeader = {
  kind: 'patroni.await-writable-leader'
  endpoints: string[]
  cluster: string
  oldLeader: string | null
  afterTimeline: number
  candidate?: string
  user: string
  database: string
  timeoutMs: number
}

/** Report (and with `wait`, wait for) the other members streaming from the new leader. */
export type AwaitReplicas = {
  kind: 'patroni.await-replicas'
  endpoints: string[]
  cluster: string
  oldLeader: string | null
  wait: boolean
  timeoutMs: number
  patronictl: {config: string; cluster: string}
}

/** Wait until /cluster shows a scheduled switchover (present) or none. */
export type AwaitScheduled = {kind: 'patroni.await-scheduled'; endpoints: string[]; present: boolean; timeoutMs: number}

/** One command to one Redis node (not cluster mode), answered with `expect`. */
export type RedisCommand = {kind: 'redis.command'; node: string; args: string[]; expect: string}

/** Wait until every reachable node agrees `replica` is master with `slots` slots, the old master (if up) follows it, and the cluster is ok. */
export type AwaitRedisFailover = {
  kind: 'redis.await-failover'
  nodes: string[]
  replica: {id: string; address: string}
  oldMaster: {id: string; address: string; slots: number}
  timeoutMs: number
}

/** One call of the RDS API, its parameters exactly as sent (timestamps as ISO strings). */
export type RdsCallOp = {kind: 'rds.call'; region: string; endpoint?: string; call: {api: string; params: Record<string, unknown>}}

/** Wait until an RDS/Aurora cluster (if named) and an instance are available. */
export type AwaitRdsAvailable = {kind: 'rds.await-available'; region: string; endpoint?: string; cluster?: string; instance: string; timeoutMs: number}

/** A program whose command line is the interface (helm, eksctl), run as argv, never through a shell. */
export type Exec = {kind: 'exec'; program: 'helm' | 'eksctl'; argv: string[]; timeoutMs: number}

/** Check that a Helm release has the given status. */
export type HelmExpectStatus = {kind: 'helm.expect-status'; release: string; namespace: string; kubeArgs: string[]; status: string}

/** Stop a daemon vaultctl started (its pid file checked against /proc): SIGTERM, then SIGKILL after the timeout. */
/** Stop a lab daemon (found by its pid file, or adopted as findOrphan finds it: `command`, `cwd`). */
export type StopDaemon = {kind: 'daemon.stop'; service: string; pidFile: string; command: string; cwd?: string; timeoutMs: number}

/** Stop a PostgreSQL server if it still runs in this data directory (a paused Patroni leaves it running). */
export type StopPostgres = {kind: 'pg.stop-if-running'; dataDir: string; binDir: string}

/** Delete a lab's directories: only when `dir` holds the lab's lab.json and none of its daemons runs. */
/** Delete what the lab created in `dir` (its known entries) and its PostgreSQL root; `dir` itself only when nothing else is left in it. */
export type PurgeLab = {kind: 'lab.purge'; dir: string; pgRoot: string; pidFiles: string[]; entries: string[]}

/**
 * Write files, byte for byte as planned, into `dir` (created if missing). `command` is the
 * vaultctl command that renders the same files, for the operator's manual.
 */
export type WriteFiles = {kind: 'files.write'; dir: string; files: {name: string; content: string}[]; command: string[]}

/** Where an S3 bucket is reached (its keys are secrets, given to the executor). */
export type S3Where = {endpoint?: string; region: string; forcePathStyle: boolean}

/**
 * pg_basebackup (tar, WAL fetched into it, compressed on the server) from `source`, streamed to s3://bucket/basePrefix<id>/base.tar[.zst|.lz4]
 * (multipart, SHA-256 computed on the way, no local copy); the backup id is the UTC time of the run.
 */
export type BaseBackupToS3 = {kind: 'pg.basebackup-to-s3'; source: {member: string; role: string; host: string; port: number}; user: string; binDir?: string; s3: S3Where; bucket: string; basePrefix: string; cluster: string
  /** on the server (pg_basebackup --compress=server-...); absent in plans saved before compression: none */
  compression?: BaseCompression}

/** Write the manifest of the backup the previous step took: from then on the backup exists. */
export type WriteManifest = {kind: 'backup.write-manifest'; s3: S3Where; bucket: string; basePrefix: string}

/** On the leader: a restore point named after the backup, a committing transaction, a WAL switch (restorable at once). */
export type MarkBackupEnd = {kind: 'backup.mark-end'; leader: {member: string; host: string; port: number}; user: string; database: string}

export type Operation = DrillOperation | KubeOperation | RestoreOperation | LabOperation | S3Operation | WriteFiles | BaseBackupToS3 | WriteManifest | MarkBackupEnd | StopDaemon | StopPostgres | PurgeLab | Exec | HelmExpectStatus | PatroniRequest | AwaitWritableLeader | AwaitReplicas | AwaitScheduled | RedisCommand | AwaitRedisFailover | RdsCallOp | AwaitRdsAvailable

/** What each operation returns when it has run. */
export type OperationResult = DrillOperationResult & KubeOperationResult & RestoreOperationResult & LabOperationResult & S3OperationResult & {
  'patroni.request': {status: number; text: string} | {status: 'sent'}
  'patroni.await-writable-leader': {leader: string; timeline: number; afterMs: number; response?: {status: number; text: string}; notes: string[]}
  'patroni.await-replicas': {streamingAfterMs: number | null; oldLeaderRejoined: boolean | null; members: {name: string; role: string; state: string; timeline?: number; lagBytes?: number}[]; notes: string[]}
  'patroni.await-scheduled': {present: boolean}
  'redis.command': {reply: string}
  'redis.await-failover': {agreedAfterMs: number; ownViewAfterMs: number | null}
  'pg.basebackup-to-s3': {id: string; key: string; cluster: string; source: BaseBackupToS3['source']; bytes: number; sha256: string; compression: CompressionMethod; startLsn: string; endLsn: string; timeline: number; startedAt: string; seconds: number}
  'backup.write-manifest': {key: string; manifest: BackupManifest}
  'backup.mark-end': {restorePoint: string; switchedAt: string}
  'daemon.stop': {outcome: 'stopped' | 'killed' | 'not-running'}
  'pg.stop-if-running': {stopped: boolean}
  'lab.purge': {removed: string[]; kept?: string[]}
  'exec': {exitCode: number; lastLine?: string}
  'files.write': {written: string[]}
  'helm.expect-status': {status: string}
  'rds.call': {api: string}
  'rds.await-available': {status: string; endpoint?: string}
}

import {shellLine, shellQuote} from '../shell.js'
export {shellLine, shellQuote}

const hostPort = (address: string) => {
  const i = address.lastIndexOf(':')
  return ['-h', address.slice(0, i), '-p', address.slice(i + 1)]
}

function patronictlLine(op: PatroniRequest): string {
  const base = ['patronictl', '-c', op.patronictl.config]
  const b = op.body ?? {}
  if (op.method === 'DELETE') return shellLine([...base, 'flush', op.patronictl.cluster, 'switchover', '--force'])
  if (op.path === '/failover') return shellLine([...base, 'failover', op.patronictl.cluster, ...(b.candidate ? ['--candidate', b.candidate] : []), '--force'])
  return shellLine([...base, 'switchover', op.patronictl.cluster, ...(b.leader ? ['--leader', b.leader] : []), ...(b.candidate ? ['--candidate', b.candidate] : []),
    ...(b.scheduled_at ? ['--scheduled', b.scheduled_at] : []), '--force'])
}

const kebab = (s: string) => s.replace(/DB/g, 'Db').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()

/** The aws CLI spelling of an RDS call. */
export function awsCli(call: {api: string; params: Record<string, unknown>}): string {
  const args = Object.entries(call.params).map(([k, v]) => {
    const flag = `--${kebab(k)}`
    if (v === true) return flag
    if (v === false) return `--no-${kebab(k)}`
    if (Array.isArray(v)) return `${flag} ${v.map((x) => shellQuote(String(x))).join(' ')}`
    return `${flag} ${shellQuote(v instanceof Date ? v.toISOString() : String(v))}`
  })
  return `aws rds ${kebab(call.api)} ${args.join(' ')}`
}

/** The command an operator would type to do what `op` does. */
export function manual(op: Operation): string {
  if (isKubeOperation(op)) return manualKube(op)
  if (isDrillOperation(op)) return manualDrill(op)
  switch (op.kind) {
    case 's3.apply-versions': case 's3.put-batch-manifest': case 's3.batch-copy': case 's3.delete-objects': case 's3.put-json':
      return manualS3(op)
    case 'program.run': case 'lab.prepare': case 'daemon.start': case 'patroni.await-healthy': case 'patroni.archive-command': case 'redis.form-cluster':
    case 's3.versioned-buckets': case 'prometheus.backfill': case 'file.write': case 'kube.nodes': case 'kube.apply': case 'kube.await-job':
      return manualLab(op)
    case 'restore.prepare': case 'wal.install-runtime': case 'restore.fetch-base-backup': case 'wal.prefetch': case 'pg.recovery-settings': case 'pg.start':
    case 'pg.await-promoted': case 'pg.verify-restored': case 'restore.mark-complete': case 'pg.destroy-instance': case 'backup.validate-checks': case 'restore.record': case 'restore.detach-side':
    case 'patroni.set-pause': case 'restore.swap-data-dir': case 'patroni.restart-await-leader': case 'pg.verify-writable': case 'patroni.reinit-replicas': case 'restore.finish-record': case 'wal.await-archived':
      return manualRestore(op)
    case 'patroni.request':
      return `${shellLine(['curl', '-s', ...(op.rest?.caFile ? ['--cacert', op.rest.caFile] : [])])}${op.rest?.username ? ` -u ${shellQuote(op.rest.username)}:"$PATRONI_REST_PASSWORD"` : ''} ${shellLine([`-X${op.method}`, `${op.api}${op.path}`, ...(op.body ? ['-d', JSON.stringify(op.body)] : [])])}   # or: ${patronictlLine(op)}`
    case 'patroni.await-writable-leader':
      return `watch -n0.5 ${shellQuote(`curl -s ${op.endpoints[0]}/cluster; psql -h NEW_LEADER_HOST -p NEW_LEADER_PORT -U ${op.user} -d ${op.database} -c 'select txid_current()'`)}   # until a leader other than ${op.oldLeader ?? 'none'} takes writes on a timeline after ${op.afterTimeline}`
    case 'patroni.await-replicas':
      return shellLine(['patronictl', '-c', op.patronictl.config, 'list', op.patronictl.cluster])
    case 'patroni.await-scheduled':
      return `${shellLine(['curl', '-s', `${op.endpoints[0]}/cluster`])}   # scheduled_switchover ${op.present ? 'present' : 'absent'}`
    case 'redis.command':
      return shellLine(['redis-cli', ...hostPort(op.node), ...op.args])
    case 'pg.basebackup-to-s3':
      return `ID=$(date -u +%Y%m%dT%H%M%SZ); PGPASSWORD=... ${shellLine([op.binDir ? `${op.binDir}/pg_basebackup` : 'pg_basebackup', '-h', op.source.host, '-p', String(op.source.port), '-U', op.user, '-D', '-', '-F', 'tar', '-X', 'fetch', '--checkpoint=fast', ...compressArgs(op.compression ?? {method: 'none'})])} --label vaultctl-$ID --verbose | aws s3 cp - ${shellQuote(`s3://${op.bucket}/${op.basePrefix}`)}"$ID/${baseFileName(op.compression?.method)}"`
    case 'backup.write-manifest':
      return `aws s3 cp manifest.json ${shellQuote(`s3://${op.bucket}/${op.basePrefix}`)}"$ID/manifest.json"   # id, source, start/end LSN, timeline, size, sha256`
    case 'backup.mark-end':
      return `psql -h ${op.leader.host} -p ${op.leader.port} -U ${op.user} -d ${op.database} -c "select pg_create_restore_point('vaultctl-backup-$ID')" -c 'select txid_current()' -c 'select pg_switch_wal()'`
    case 'daemon.stop':
      return `kill $(head -1 ${shellQuote(op.pidFile)})`
    case 'pg.stop-if-running':
      return `${shellLine([`${op.binDir}/pg_ctl`, '-D', op.dataDir, 'status'])} && ${shellLine([`${op.binDir}/pg_ctl`, '-D', op.dataDir, 'stop', '-m', 'fast'])}`
    case 'lab.purge':
      return `test -f ${shellQuote(`${op.dir}/lab.json`)} && ${shellLine(['rm', '-rf', ...op.entries.map((e) => `${op.dir}/${e}`), op.pgRoot])} && rmdir ${shellQuote(op.dir)}   # rmdir only if nothing else is in it`
    case 'exec':
      return shellLine([op.program, ...op.argv])
    case 'files.write':
      return `${shellLine(op.command)}   # writes into ${shellQuote(op.dir)}: ${op.files.map((f) => `${f.name} (${Buffer.byteLength(f.content)} bytes, sha256 ${createHash('sha256').update(f.content).digest('hex').slice(0, 16)})`).join(', ')}`
    case 'helm.expect-status':
      return shellLine(['helm', 'status', op.release, '--namespace', op.namespace, ...op.kubeArgs])
    case 'rds.call':
      return awsCli(op.call)
    case 'rds.await-available':
      return [...(op.cluster ? [shellLine(['aws', 'rds', 'wait', 'db-cluster-available', '--db-cluster-identifier', op.cluster])] : []),
        shellLine(['aws', 'rds', 'wait', 'db-instance-available', '--db-instance-identifier', op.instance])].join(' && ')
    case 'redis.await-failover':
      return `for n in ${op.nodes.join(' ')}; do redis-cli -h \${n%:*} -p \${n#*:} CLUSTER NODES; done   # until all see ${op.replica.address} as master with ${op.oldMaster.slots} slots`
  }
}
