// The executor of operations: each typed operation a plan step carries is run here, through the
// clients of the system it acts on, and returns a typed result. Secrets come from the caller
// (resolved from the environment at run time), never from the operation.
import {failure, refusal} from '../errors.js'
import type {Operation, OperationResult} from '../plan/operations.js'
import {isKubeOperation} from '../plan/ops-kube.js'
import {isDrillOperation} from '../plan/ops-drill.js'
import {firstCluster, readClusterState} from '../postgres/cluster-state.js'
import {isHealthyState, normalizeRole} from '../postgres/roles.js'
import {agreement} from '../redis/agreement.js'
import {readTopology} from '../redis/topology.js'
import {waitUntil} from '../wait.js'
import {deleteScheduledSwitchover, postAction} from './patroni.js'
import {withPg, writableTimeline} from './postgres.js'
import {backupId, parseBaseBackupLog, type BackupManifest} from '../backup/base.js'
import {baseFileName, compressArgs} from '../backup/compression.js'
import {parseHostPort, redisCommand} from './redis.js'

export type OperationSecrets = {pgPassword?: string; redisPassword?: string; rds?: {accessKeyId?: string; secretAccessKey?: string}; s3?: {accessKeyId?: string; secretAccessKey?: string}}

export type OperationContext = {
  signal: AbortSignal
  note(message: string): void
  /** shared by the steps of one run: a detached request's pending answer */
  state: Record<string, unknown>
  secrets: OperationSecrets
}

type Response = {status: number; text: string}
const pendingKey = 'patroni.pending'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function patroniRequest(op: Extract<Operation, {kind: 'patroni.request'}>, ctx: OperationContext): Promise<OperationResult['patroni.request']> {
  const send = (): Promise<Response> => op.method === 'DELETE'
    ? deleteScheduledSwitchover(op.api)
    : postAction(op.api, op.path === '/failover' ? 'failover' : 'switchover', op.body ?? {}, ctx.signal)
  const refused = (r: Response) => !op.expect.includes(r.status) && !/status unknown/i.test(r.text)
  if (!op.detach) {
    const r = await send()
    if (refused(r)) throw failure('PATRONI_REFUSED', `Patroni answered ${r.status}: ${r.text}`, ['Nothing was changed. Fix what Patroni names and re-run.'])
    return r
  }
  // The answer comes once Patroni has seen the outcome; a refusal (412) comes at once.
  const answer = send().catch((e: Error) => ({status: 0, text: e.message}))
  const settled: {value?: Response} = {}
  void answer.then((r) => (settled.value = r))
  ctx.state[pendingKey] = settled
  const early = await Promise.race([answer, sleep(150).then(() => undefined)])
  if (early && refused(early)) throw failure('PATRONI_REFUSED', `Patroni answered ${early.status}: ${early.text}`, ['Nothing was switched. Fix what Patroni names and re-run.'])
  return early ?? {status: 'sent'}
}

async function awaitWritableLeader(op: Extract<Operation, {kind: 'patroni.await-writable-leader'}>, ctx: OperationContext): Promise<OperationResult['patroni.await-writable-leader']> {
  const t0 = Date.now()
  const notes: string[] = []
  const pending = ctx.state[pendingKey] as {value?: Response} | undefined
  const found = await waitUntil({
    what: `a leader other than ${op.oldLeader ?? 'none'} on a timeline after ${op.afterTimeline} that accepts a write`, timeoutMs: op.timeoutMs, intervalMs: 100, maxIntervalMs: 200, signal: ctx.signal,
    code: 'SWITCHOVER_UNVERIFIED', suggestions: ['The switch may still be in progress: run `vaultctl status --component postgres` before doing anything else.', 'Raise --timeout to wait longer.'],
    onStatus: (s, ms) => ctx.note(`${(ms / 1000).toFixed(1)} s: ${s}`),
  }, async () => {
    const late = pending?.value
    if (late && !/status unknown/i.test(late.text) && late.status !== 200) {
      throw failure('PATRONI_REFUSED', `Patroni answered ${late.status}: ${late.text}`, ['Nothing was switched: the leader is unchanged. Fix what Patroni names and re-run.'])
    }
    if (late && /status unknown/i.test(late.text) && !notes.some((n) => n.includes('status unknown'))) {
      notes.push(`Patroni answered ${late.status} "${late.text}" after ${((Date.now() - t0) / 1000).toFixed(1)} s: it stopped waiting, the switch was still going on; kept polling /cluster`)
    }
    const {cluster} = await firstCluster(op.endpoints)
    const leader = cluster.members.find((m) => normalizeRole(m.role) === 'leader')
    if (!leader || leader.name === op.oldLeader || !leader.host || !leader.port) return {done: false, status: leader ? `${leader.name} still leads` : 'no leader at this moment'}
    const w = await writableTimeline({host: leader.host, port: leader.port, user: op.user, password: ctx.secrets.pgPassword, database: op.database}, 1000)
      .catch((e: Error) => ({error: e.message}))
    if ('error' in w) return {done: false, status: `${leader.name} leads but does not take writes yet (${w.error})`}
    if (w.timeline <= op.afterTimeline) return {done: false, status: `${leader.name} leads but is still on timeline ${w.timeline}`}
    return {done: true, value: {leader: leader.name, timeline: w.timeline}}
  })
  if (op.candidate && found.leader !== op.candidate) notes.push(`Patroni promoted ${found.leader}, not the requested ${op.candidate}`)
  const response = pending?.value
  return {...found, afterMs: Date.now() - t0, ...(response ? {response} : {}), notes}
}

async function awaitReplicas(op: Extract<Operation, {kind: 'patroni.await-replicas'}>, ctx: OperationContext): Promise<OperationResult['patroni.await-replicas']> {
  const t0 = Date.now()
  const notes: string[] = []
  let last: Awaited<ReturnType<typeof readClusterState>> | undefined
  const observe = async () => {
    const s = await readClusterState(op.cluster, op.endpoints)
    last = s
    const leader = s.leader
    const others = s.members.filter((m) => m.name !== leader?.name)
    const streaming = others.filter((m) => m.role === 'replica' && isHealthyState(m.state) && (m.timeline ?? 0) >= (leader?.timeline ?? 0))
    return {others, streaming}
  }
  let streamingAfterMs: number | null = null
  try {
    await waitUntil({what: 'every other member streaming from the new leader', timeoutMs: op.wait ? op.timeoutMs : 0, intervalMs: 200, maxIntervalMs: 500, signal: ctx.signal,
      onStatus: (s) => ctx.note(s)}, async () => {
      const {others, streaming} = await observe()
      if (streaming.length === others.length) return {done: true, value: true}
      return {done: false, status: `waiting for replicas: ${others.map((m) => `${m.name} ${m.role}/${m.state}`).join(', ')}`}
    })
    streamingAfterMs = Date.now() - t0
  } catch (error) {
    if ((error as {code?: string}).code !== 'WAIT_TIMEOUT') throw error
    if (op.wait) notes.push(`not every replica streams from the new leader yet: ${(error as Error).message}`)
  }
  const old = last?.members.find((m) => m.name === op.oldLeader)
  return {
    streamingAfterMs, notes,
    oldLeaderRejoined: op.oldLeader === null || !old ? null : old.role === 'replica' && isHealthyState(old.state),
    members: (last?.members ?? []).map((m) => ({name: m.name, role: m.role, state: m.state, ...(m.timeline === undefined ? {} : {timeline: m.timeline}), ...(m.lagBytes === undefined ? {} : {lagBytes: m.lagBytes})})),
  }
}

/** RDS timestamps travel as ISO strings in a plan; the SDK wants Dates. */
const RDS_TIMES = new Set(['RestoreToTime', 'RestoreTime'])

async function rdsOp(op: Extract<Operation, {kind: 'rds.call' | 'rds.await-available'}>, ctx: OperationContext): Promise<OperationResult['rds.call'] | OperationResult['rds.await-available']> {
  const {describeCluster, describeInstance, rdsClient, sendCall} = await import('./rds.js')
  const client = await rdsClient({region: op.region, endpoint: op.endpoint, ...ctx.secrets.rds})
  try {
    if (op.kind === 'rds.call') {
      const params = Object.fromEntries(Object.entries(op.call.params).map(([k, v]) => [k, RDS_TIMES.has(k) && typeof v === 'string' ? new Date(v) : v]))
      await sendCall(client, {api: op.call.api, params})
      return {api: op.call.api}
    }
    const available = (what: string, read: () => Promise<string | undefined>) => waitUntil({what: `${what} available`, timeoutMs: op.timeoutMs, intervalMs: 1000, maxIntervalMs: 5000, signal: ctx.signal,
      code: 'RDS_TIMEOUT', suggestions: ['AWS keeps going: watch it with `aws rds describe-db-clusters` / `describe-db-instances`.'], onStatus: (st) => ctx.note(`${what}: ${st}`)}, async () => {
      const status = await read()
      if (status && /failed|incompatible/.test(status)) throw failure('RDS_FAILED', `${what} is ${status}`)
      return status === 'available' ? {done: true, value: status} : {done: false, status: status ?? 'not visible yet'}
    })
    if (op.cluster) await available(`cluster ${op.cluster}`, async () => (await describeCluster(client, op.cluster!))?.Status)
    const status = await available(`instance ${op.instance}`, async () => (await describeInstance(client, op.instance))?.DBInstanceStatus)
    const endpoint = op.cluster ? (await describeCluster(client, op.cluster))?.Endpoint : (await describeInstance(client, op.instance))?.Endpoint?.Address
    return {status, ...(endpoint ? {endpoint} : {})}
  } finally {
    client.destroy()
  }
}

const backupKey = 'backup.taken'

async function backupOp(op: Extract<Operation, {kind: 'pg.basebackup-to-s3' | 'backup.write-manifest' | 'backup.mark-end'}>, ctx: OperationContext):
  Promise<OperationResult['pg.basebackup-to-s3'] | OperationResult['backup.write-manifest'] | OperationResult['backup.mark-end']> {
  if (op.kind === 'backup.mark-end') {
    const taken = ctx.state[backupKey] as OperationResult['pg.basebackup-to-s3'] | undefined
    const restorePoint = `vaultctl-backup-${taken?.id ?? 'unknown'}`
    // Recovery to a time stops at the first commit after it: without a commit after the backup's
    // end (an idle cluster), no time target would be restorable from it. A transaction that takes
    // an xid writes a commit record and touches no table.
    const switchedAt = await withPg({host: op.leader.host, port: op.leader.port, user: op.user, password: ctx.secrets.pgPassword, database: op.database}, async (c) => {
      await c.query('select pg_create_restore_point($1)', [restorePoint])
      await c.query('select txid_current()')
      return (await c.query<{lsn: string}>('select pg_switch_wal()::text as lsn')).rows[0]!.lsn
    })
    return {restorePoint, switchedAt}
  }
  const {deleteObject, headObject, putObject, s3Client, uploadStream} = await import('./s3.js')
  const client = await s3Client({...op.s3, ...ctx.secrets.s3})
  try {
    if (op.kind === 'backup.write-manifest') {
      const taken = ctx.state[backupKey] as OperationResult['pg.basebackup-to-s3'] | undefined
      if (!taken) throw failure('NO_BACKUP_TAKEN', 'no base backup was taken in this run: nothing to write a manifest for')
      const manifest: BackupManifest = {id: taken.id, cluster: taken.cluster, source: taken.source, startedAt: taken.startedAt, finishedAt: new Date().toISOString(),
        timeline: taken.timeline, startLsn: taken.startLsn, endLsn: taken.endLsn, bytes: taken.bytes, sha256: taken.sha256, key: taken.key, format: 'tar', wal: 'included', compression: taken.compression}
      const key = `${op.basePrefix}${taken.id}/manifest.json`
      await putObject(client, op.bucket, key, JSON.stringify(manifest, null, 2) + '\n')
      return {key, manifest}
    }
    const {startBaseBackup} = await import('./basebackup.js')
    const {createHash} = await import('node:crypto')
    const {PassThrough} = await import('node:stream')
    const started = new Date()
    const id = backupId(started)
    const compression = op.compression ?? {method: 'none' as const}
    const key = `${op.basePrefix}${id}/${baseFileName(compression.method)}`
    const run = await startBaseBackup(op.binDir, {host: op.source.host, port: op.source.port, user: op.user, password: ctx.secrets.pgPassword}, `vaultctl-${id}`, compressArgs(compression))
    const hash = createHash('sha256')
    let bytes = 0
    const tee = new PassThrough()
    run.stdout.on('data', (c: Buffer) => {
      hash.update(c)
      bytes += c.length
    })
    run.stdout.pipe(tee)
    const timer = setInterval(() => ctx.note(`${(bytes / 1024 / 1024).toFixed(0)} MiB uploaded`), 1000)
    let uploadError: unknown
    // an uncompressed tar of a large database needs bigger parts to stay within S3's 10,000
    const upload = uploadStream(client, op.bucket, key, tee, {}, {partSize: (compression.method === 'none' ? 64 : 32) * 1024 * 1024, queueSize: 4}).catch((e: unknown) => (uploadError = e))
    const r = await run.done
    await upload
    clearInterval(timer)
    if (r.exitCode !== 0 || uploadError) {
      // Nothing may look like a backup that is not one: remove what the upload wrote.
      await deleteObject(client, op.bucket, key).catch(() => undefined)
      if (uploadError) throw uploadError
      throw failure('PG_BASEBACKUP_FAILED', `pg_basebackup exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, [`s3://${op.bucket}/${key} was removed; fix the cause and re-run \`vaultctl backup create\`.`])
    }
    const log = parseBaseBackupLog(r.stderr)
    if (!log.startLsn || !log.endLsn || !log.timeline) throw failure('PG_BASEBACKUP_LOG', `could not read start/end LSN from pg_basebackup's output: ${r.stderr.slice(-300)}`)
    const head = await headObject(client, op.bucket, key)
    if (!head || head.size !== bytes) throw failure('BACKUP_UPLOAD_SHORT', `s3://${op.bucket}/${key} has ${head?.size ?? 'no'} bytes, streamed ${bytes}`)
    const result = {id, key, cluster: op.cluster, source: op.source, bytes, sha256: hash.digest('hex'), compression: compression.method, seconds: (Date.now() - started.getTime()) / 1000, startLsn: log.startLsn, endLsn: log.endLsn, timeline: log.timeline, startedAt: started.toISOString()}
    ctx.state[backupKey] = result
    return result
  } finally {
    client.destroy()
  }
}

async function labOp(op: Extract<Operation, {kind: 'daemon.stop' | 'pg.stop-if-running' | 'lab.purge'}>): Promise<OperationResult['daemon.stop'] | OperationResult['pg.stop-if-running'] | OperationResult['lab.purge']> {
  const {existsSync, rmSync} = await import('node:fs')
  const {isRoot, lookupUser, runningPid, stopDaemon} = await import('./process.js')
  if (op.kind === 'daemon.stop') return {outcome: await stopDaemon(op, op.timeoutMs)}
  if (op.kind === 'pg.stop-if-running') {
    if (!existsSync(`${op.dataDir}/postmaster.pid`)) return {stopped: false}
    const {pgStop} = await import('./pgctl.js')
    const u = isRoot() ? lookupUser('postgres') : undefined
    await pgStop(op.binDir, op.dataDir, u ? {uid: u.uid, gid: u.gid} : undefined)
    return {stopped: true}
  }
  if (!existsSync(`${op.dir}/lab.json`)) throw refusal('NOT_A_LAB', `${op.dir} holds no lab.json: it is not a lab, and nothing in it is deleted`, ['Check --dir.'])
  const still = op.pidFiles.filter((f) => runningPid(f) !== undefined)
  if (still.length) throw failure('LAB_STILL_RUNNING', `still running: ${still.join(', ')}`)
  const {readdirSync, rmdirSync} = await import('node:fs')
  const removed: string[] = []
  for (const p of [op.pgRoot, ...op.entries.map((e) => `${op.dir}/${e}`)]) {
    if (!existsSync(p)) continue
    rmSync(p, {recursive: true, force: true})
    removed.push(p)
  }
  // the directory itself only when the lab was all that was in it
  const left = readdirSync(op.dir)
  if (left.length === 0) {
    rmdirSync(op.dir)
    removed.push(op.dir)
  }
  return {removed, ...(left.length ? {kept: left} : {})}
}

async function execOp(op: Extract<Operation, {kind: 'exec'}>): Promise<OperationResult['exec']> {
  const {eksctl} = await import('./eksctl.js')
  const {helm, helmBinary} = await import('./helm.js')
  let r: {exitCode: number; stdout: string; stderr: string}
  if (op.program === 'eksctl') r = await eksctl(op.argv, op.timeoutMs)
  else {
    const bin = helmBinary()
    if (!bin) throw failure('NO_HELM', 'helm is not installed', ['vaultctl lab install --tools helm'])
    r = await helm(bin, op.argv, {timeoutMs: op.timeoutMs})
  }
  if (r.exitCode !== 0) throw failure('COMMAND_FAILED', `${op.program} ${op.argv.slice(0, 2).join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const lastLine = r.stdout.trim().split('\n').at(-1)
  return {exitCode: r.exitCode, ...(lastLine ? {lastLine} : {})}
}

async function helmStatus(op: Extract<Operation, {kind: 'helm.expect-status'}>): Promise<OperationResult['helm.expect-status']> {
  const {helm, helmBinary} = await import('./helm.js')
  const bin = helmBinary()
  if (!bin) throw failure('NO_HELM', 'helm is not installed', ['vaultctl lab install --tools helm'])
  const s = await helm(bin, ['status', op.release, '--namespace', op.namespace, '-o', 'json', ...op.kubeArgs])
  const status = s.exitCode === 0 ? (JSON.parse(s.stdout) as {info?: {status?: string}}).info?.status : undefined
  if (status !== op.status) throw failure('RELEASE_NOT_DEPLOYED', `release ${op.release} is ${status ?? 'not readable'}, not ${op.status}`, ['See `helm history` for what happened; --atomic/--rollback-on-failure rolled a failed upgrade back.'])
  return {status}
}

export async function runOperation(op: Operation, ctx: OperationContext): Promise<OperationResult[Operation['kind']]> {
  if (isKubeOperation(op)) {
    const {runKubeOperation} = await import('./kube-ops.js')
    return runKubeOperation(op, ctx)
  }
  if (isDrillOperation(op)) {
    const {runDrillOperation} = await import('./drill-ops.js')
    return runDrillOperation(op, ctx)
  }
  switch (op.kind) {
    case 's3.apply-versions': case 's3.put-batch-manifest': case 's3.batch-copy': case 's3.delete-objects': case 's3.put-json': {
      const {runS3Operation} = await import('./s3-ops.js')
      return runS3Operation(op, ctx)
    }
    case 'program.run': case 'lab.prepare': case 'daemon.start': case 'patroni.await-healthy': case 'patroni.archive-command': case 'redis.form-cluster':
    case 's3.versioned-buckets': case 'prometheus.backfill': case 'file.write': case 'kube.nodes': case 'kube.apply': case 'kube.await-job': {
      const {runLabOperation} = await import('./lab-ops.js')
      return runLabOperation(op, ctx)
    }
    case 'restore.prepare': case 'wal.install-runtime': case 'restore.fetch-base-backup': case 'wal.prefetch': case 'pg.recovery-settings': case 'pg.start':
    case 'pg.await-promoted': case 'pg.verify-restored': case 'restore.mark-complete': case 'pg.destroy-instance': case 'backup.validate-checks': case 'restore.record': case 'restore.detach-side':
    case 'patroni.set-pause': case 'restore.swap-data-dir': case 'patroni.restart-await-leader': case 'pg.verify-writable': case 'patroni.reinit-replicas': case 'restore.finish-record': case 'wal.await-archived': {
      const {runRestoreOperation} = await import('./restore-ops.js')
      return runRestoreOperation(op, ctx)
    }
    case 'patroni.request':
      return patroniRequest(op, ctx)
    case 'patroni.await-writable-leader':
      return awaitWritableLeader(op, ctx)
    case 'patroni.await-replicas':
      return awaitReplicas(op, ctx)
    case 'patroni.await-scheduled':
      return waitUntil({what: `a scheduled switchover ${op.present ? 'shown' : 'gone'} in /cluster`, timeoutMs: op.timeoutMs, signal: ctx.signal}, async () => {
        const {cluster} = await firstCluster(op.endpoints)
        return Boolean(cluster.scheduled_switchover) === op.present ? {done: true, value: {present: op.present}} : {done: false, status: `scheduled_switchover ${cluster.scheduled_switchover ? JSON.stringify(cluster.scheduled_switchover) : 'absent'}`}
      })
    case 'pg.basebackup-to-s3':
    case 'backup.write-manifest':
    case 'backup.mark-end':
      return backupOp(op, ctx)
    case 'daemon.stop':
    case 'pg.stop-if-running':
    case 'lab.purge':
      return labOp(op)
    case 'exec':
      return execOp(op)
    case 'files.write': {
      const {mkdirSync, writeFileSync} = await import('node:fs')
      const {join} = await import('node:path')
      mkdirSync(op.dir, {recursive: true})
      const written = op.files.map((f) => {
        writeFileSync(join(op.dir, f.name), f.content)
        return join(op.dir, f.name)
      })
      return {written}
    }
    case 'helm.expect-status':
      return helmStatus(op)
    case 'rds.call':
    case 'rds.await-available':
      return rdsOp(op, ctx)
    case 'redis.command': {
      const reply = String(await redisCommand({...parseHostPort(op.node), password: ctx.secrets.redisPassword}, op.args[0]!, ...op.args.slice(1)))
      if (reply !== op.expect) throw failure('REDIS_REFUSED', `${op.args.join(' ')} on ${op.node} answered ${reply}`)
      ctx.state[`redis.sent.${op.node}`] = Date.now()
      return {reply}
    }
    case 'redis.await-failover': {
      const sent = (ctx.state[`redis.sent.${op.replica.address}`] as number | undefined) ?? Date.now()
      const conn = {...parseHostPort(op.replica.address), password: ctx.secrets.redisPassword}
      let ownViewAfterMs: number | null = null
      await waitUntil({what: `every node agreeing that ${op.replica.address} is master with ${op.oldMaster.slots} slots`, timeoutMs: Math.max(0, sent + op.timeoutMs - Date.now()),
        intervalMs: 20, maxIntervalMs: 100, signal: ctx.signal, code: 'REDIS_FAILOVER_UNVERIFIED', onStatus: (s) => ctx.note(s),
        suggestions: ['The failover may still complete: run `vaultctl status --component redis`.']}, async () => {
        const own = await redisCommand(conn, 'ROLE').catch(() => undefined) as unknown[] | undefined
        if (ownViewAfterMs === null && Array.isArray(own) && own[0] === 'master') ownViewAfterMs = Date.now() - sent
        const t = await readTopology(op.nodes, ctx.secrets.redisPassword)
        const a = agreement(t, op.replica.id, op.oldMaster.id, op.oldMaster.slots)
        return a.ok ? {done: true, value: true} : {done: false, status: a.why}
      })
      return {agreedAfterMs: Date.now() - sent, ownViewAfterMs}
    }
  }
}

