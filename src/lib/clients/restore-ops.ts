// The executor of the restore operations (src/lib/plan/ops-restore.ts): the file system, pg_ctl,
// tar, S3, PostgreSQL and Patroni, each through its client. Every operation can be run again after
// an interruption: it checks what is already done before it acts.
import {createHash} from 'node:crypto'
import {chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {PassThrough} from 'node:stream'
import {errorMessage, failure, refusal} from '../errors.js'
import type {Operation, OperationResult} from '../plan/operations.js'
import {IntoClusterRecordFileSchema, type Owner, type RestoreOperation, type ValidateCheck} from '../plan/ops-restore.js'
import {readClusterState} from '../postgres/cluster-state.js'
import {isHealthyState} from '../postgres/roles.js'
import {MARKER, failsCheck, firstValue, lastTransactionTime, recoverySettings, serverFatal, sidePaths, stripRecoverySettings, unarchivedOnNewestTimeline} from '../restore/settings.js'
import {waitUntil} from '../wait.js'
import {extractTar} from './basebackup.js'
import {readJsonFile} from './files.js'
import {getNode, patchConfig, postReinitialize, postRestart} from './patroni.js'
import {pgStart, pgStop, pgStopHard} from './pgctl.js'
import {withPg} from './postgres.js'
import type {OperationContext} from './operations.js'

type R<K extends RestoreOperation['kind']> = Promise<OperationResult[K]>
type Op<K extends RestoreOperation['kind']> = Extract<Operation, {kind: K}>

const own = (o: Owner | undefined, ...paths: string[]) => {
  if (o) for (const p of paths) chownSync(p, o.uid, o.gid)
}
const PREFETCH = 'wal.prefetch'
const startedKey = (logFile: string) => `pg.started:${logFile}`

async function prepare(op: Op<'restore.prepare'>): R<'restore.prepare'> {
  mkdirSync(op.restoresRoot, {recursive: true, mode: 0o700})
  own(op.owner, op.restoresRoot)
  const marker = join(op.dataDir, MARKER)
  const cleared = existsSync(marker)
  if (!cleared && existsSync(op.dataDir)) throw refusal('DATA_DIR_EXISTS', `${op.dataDir} exists and is not a vaultctl restore in progress: refusing to write into it`, ['Pass a new --data-dir.'])
  if (cleared) {
    // Our own interrupted run: stop what it may have started, then start over.
    if (existsSync(join(op.dataDir, 'postmaster.pid'))) await pgStop(op.binDir, op.dataDir, op.owner).catch(() => undefined)
    rmSync(op.dataDir, {recursive: true, force: true})
  }
  rmSync(op.spool, {recursive: true, force: true})
  rmSync(op.runtime, {recursive: true, force: true})
  mkdirSync(op.spool, {mode: 0o700})
  mkdirSync(op.dataDir, {recursive: true, mode: 0o700})
  writeFileSync(marker, JSON.stringify({status: 'restoring', ...op.marker, startedAt: new Date().toISOString()}) + '\n')
  own(op.owner, op.spool, op.dataDir, marker)
  return {cleared}
}

async function fetchBaseBackup(op: Op<'restore.fetch-base-backup'>, ctx: OperationContext): R<'restore.fetch-base-backup'> {
  const {getObjectStream, s3Client} = await import('./s3.js')
  const client = await s3Client({...op.s3, ...ctx.secrets.s3})
  try {
    const {stream} = await getObjectStream(client, op.bucket, op.key)
    const stop = () => (stream as NodeJS.ReadableStream & {destroy(e?: Error): void}).destroy(new Error('interrupted'))
    ctx.signal.addEventListener('abort', stop, {once: true})
    const hash = createHash('sha256')
    let bytes = 0
    const tee = new PassThrough({highWaterMark: 64 * 1024 * 1024}) // let download and untar overlap
    stream.on('data', (c: Buffer) => {
      hash.update(c)
      bytes += c.length
    })
    stream.pipe(tee)
    const timer = setInterval(() => ctx.note(`${(bytes / 1024 / 1024).toFixed(0)} of ${(op.bytes / 1024 / 1024).toFixed(0)} MiB`), 1000)
    try {
      await extractTar(tee, op.dataDir, op.owner, ctx.signal, op.compression)
    } finally {
      clearInterval(timer)
      ctx.signal.removeEventListener('abort', stop)
    }
    const sum = hash.digest('hex')
    if (sum !== op.sha256) throw failure('BACKUP_CORRUPT', `s3://${op.bucket}/${op.key}: sha256 ${sum} does not match the manifest's ${op.sha256}`, ['The base backup is damaged: restore from an older one (`vaultctl backup list`).'])
    return {bytes, sha256: sum}
  } finally {
    client.destroy()
  }
}

/**
 * Fetch WAL files into the spool in recovery order, `workers` at a time, while PostgreSQL replays.
 * A file that fails to download stays missing (restore_command then fetches it itself). Ends by
 * writing `.done`, and `.complete` when every file of the recovery path was fetched. Stops when
 * the run ends or is interrupted: nothing keeps downloading after vaultctl has reported.
 */
async function prefetch(op: Op<'wal.prefetch'>, ctx: OperationContext): Promise<{fetched: number; failed: number}> {
  const {fetchWal} = await import('../backup/wal.js')
  const {s3Client} = await import('./s3.js')
  const conn = {...op.s3, ...ctx.secrets.s3}
  const client = await s3Client(conn) // one client, its connections reused, for every file
  const loc = {bucket: op.bucket, prefix: op.prefix, cluster: op.cluster}
  let next = 0
  let fetched = 0
  let failed = 0
  const worker = async () => {
    while (next < op.names.length && !ctx.signal.aborted) {
      const name = op.names[next++]!
      try {
        const r = await fetchWal(conn, loc, name, join(op.spool, name), client)
        if (r.outcome === 'fetched') {
          fetched++
          own(op.owner, join(op.spool, name))
        }
      } catch {
        failed++
      }
    }
  }
  try {
    await Promise.all(Array.from({length: op.workers}, worker))
  } finally {
    client.destroy()
    if (existsSync(op.spool)) {
      if (op.complete && failed === 0 && !ctx.signal.aborted) writeFileSync(join(op.spool, '.complete'), '')
      writeFileSync(join(op.spool, '.done'), '')
    }
  }
  return {fetched, failed}
}

async function recoverySettingsOp(op: Op<'pg.recovery-settings'>): R<'pg.recovery-settings'> {
  const d = op.settings.dataDir
  for (const f of ['standby.signal', 'postmaster.pid', 'recovery.conf']) rmSync(join(d, f), {force: true})
  const file = join(d, 'postgresql.auto.conf')
  // Written again on a re-run of this step: the block replaces the one a previous attempt appended.
  writeFileSync(file, stripRecoverySettings(existsSync(file) ? readFileSync(file, 'utf8') : '') + recoverySettings(op.settings, String(process.pid)))
  writeFileSync(join(d, 'recovery.signal'), '')
  own(op.owner, file, join(d, 'recovery.signal'))
  return {file}
}

async function awaitPromoted(op: Op<'pg.await-promoted'>, ctx: OperationContext): R<'pg.await-promoted'> {
  const started = (ctx.state[startedKey(op.logFile)] as number | undefined) ?? Date.now()
  await waitUntil({what: `recovery to ${op.target} and promotion`, timeoutMs: op.timeoutMs, intervalMs: 100, maxIntervalMs: 100, signal: ctx.signal,
    code: 'RECOVERY_TIMEOUT', suggestions: [`It may still be replaying: see ${op.logFile}.`], onStatus: (m) => ctx.note(m)}, async () => {
    const fatal = serverFatal(readFileSync(op.logFile, 'utf8'))
    if (fatal) {
      throw failure('RECOVERY_FAILED', `the restored server stopped: ${fatal}`, [
        ...(/recovery ended before configured recovery target/.test(fatal) ? ['The archive holds no transaction after the target: pick an earlier target, or archive the newest WAL first (select pg_switch_wal() on the leader).'] : []),
        `See ${op.logFile}. The source cluster was not touched.`])
    }
    let inRecovery: boolean
    try {
      inRecovery = await withPg({host: '127.0.0.1', port: op.port, user: op.user, password: ctx.secrets.pgPassword, database: op.database},
        async (c) => (await c.query<{r: boolean}>('select pg_is_in_recovery() as r')).rows[0]!.r, 1000)
    } catch (error) {
      return {done: false, status: `waiting for the server (${errorMessage(error)})`}
    }
    return inRecovery ? {done: false, status: 'replaying WAL'} : {done: true, value: true}
  })
  const promotedAfterMs = Date.now() - started
  const wal = await (ctx.state[PREFETCH] as Promise<{fetched: number; failed: number}> | undefined)
  return {promotedAfterMs, ...(wal ? {walFetched: wal.fetched, walFailed: wal.failed} : {})}
}

async function verifyRestored(op: Op<'pg.verify-restored'>, ctx: OperationContext): R<'pg.verify-restored'> {
  const last = lastTransactionTime(readFileSync(op.logFile, 'utf8'))
  if (op.notAfter && last && last > new Date(op.notAfter)) {
    throw failure('RECOVERED_PAST_TARGET', `the last replayed transaction is from ${last.toISOString()}, after the target ${op.notAfter}`)
  }
  const out: OperationResult['pg.verify-restored'] = last ? {lastTransactionAt: last.toISOString()} : {}
  ctx.state['restore.lastTransactionAt'] = out.lastTransactionAt
  if (op.verifySql) {
    const rows = await withPg({host: '127.0.0.1', port: op.port, user: op.user, password: ctx.secrets.pgPassword, database: op.database}, async (c) => (await c.query(op.verifySql!)).rows)
    out.verifySql = rows
    if (failsCheck(firstValue(rows))) throw failure('VERIFY_SQL_FAILED', `--verify-sql returned ${JSON.stringify(firstValue(rows))}`)
  }
  return out
}

async function destroyInstance(op: Op<'pg.destroy-instance'>): R<'pg.destroy-instance'> {
  await pgStopHard(op.binDir, op.dataDir, op.owner).catch(() => undefined)
  const removed = [op.dataDir, ...Object.values(sidePaths(op.dataDir))]
  for (const p of removed) rmSync(p, {recursive: true, force: true})
  return {removed}
}

async function detachSide(op: Op<'restore.detach-side'>): R<'restore.detach-side'> {
  if (!existsSync(op.dataDir)) return {queued: [], alreadySwapped: true}
  await pgStop(op.binDir, op.dataDir, op.owner)
  const auto = join(op.dataDir, 'postgresql.auto.conf')
  writeFileSync(auto, stripRecoverySettings(readFileSync(auto, 'utf8')))
  own(op.owner, auto)
  for (const f of ['recovery.signal', 'standby.signal']) rmSync(join(op.dataDir, f), {force: true})
  // The restored server ran with archiving off: queue its new timeline's history file and
  // finished segments so the cluster's archiver ships them once Patroni starts it.
  const status = join(op.dataDir, 'pg_wal', 'archive_status')
  const {pgControlData} = await import('./pgctl.js')
  const control = await pgControlData(op.binDir, op.dataDir)
  const current = control?.["Latest checkpoint's REDO WAL file"]
  if (!current || !/^[0-9A-F]{24}$/.test(current)) throw failure('PG_CONTROLDATA', `cannot read the restored instance's last checkpoint from pg_controldata (${op.dataDir})`, ['Check that pg_controldata runs; then re-run.'])
  const queued = unarchivedOnNewestTimeline(readdirSync(join(op.dataDir, 'pg_wal')), current).filter((f) => !existsSync(join(status, `${f}.done`)))
  for (const f of queued) {
    writeFileSync(join(status, `${f}.ready`), '')
    own(op.owner, join(status, `${f}.ready`))
  }
  return {queued, alreadySwapped: false}
}

async function swap(op: Op<'restore.swap-data-dir'>): R<'restore.swap-data-dir'> {
  if (!existsSync(op.oldDir)) {
    if (existsSync(join(op.dataDir, 'postmaster.pid'))) throw failure('MEMBER_RUNNING', `${op.dataDir} still has a postmaster.pid: PostgreSQL is not stopped`, ['Re-run: the stop steps come first.'])
    renameSync(op.dataDir, op.oldDir)
  }
  if (existsSync(op.restoredDir)) {
    if (existsSync(op.dataDir)) throw failure('SWAP_CONFLICT', `both ${op.restoredDir} and ${op.dataDir} exist after ${op.dataDir} was moved aside`, [`Look at both; the cluster's old data is in ${op.oldDir}.`])
    renameSync(op.restoredDir, op.dataDir)
  }
  for (const f of op.memberFiles) {
    if (!existsSync(join(op.oldDir, f))) continue
    copyFileSync(join(op.oldDir, f), join(op.dataDir, f))
    own(op.owner, join(op.dataDir, f))
  }
  rmSync(join(op.dataDir, MARKER), {force: true})
  return {oldDir: op.oldDir}
}

async function setPause(op: Op<'patroni.set-pause'>, ctx: OperationContext): R<'patroni.set-pause'> {
  await patchConfig(op.api, {pause: op.pause})
  await waitUntil({what: `every member ${op.pause ? 'paused' : 'resumed'}`, timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 500, signal: ctx.signal, onStatus: (s) => ctx.note(s)}, async () => {
    const seen = await Promise.all(op.members.map(async (m) => Boolean((await getNode(m, 1500).catch(() => ({pause: undefined}))).pause)))
    return seen.every((p) => p === op.pause) ? {done: true, value: true} : {done: false, status: `${seen.filter((p) => p === op.pause).length}/${seen.length} members ${op.pause ? 'paused' : 'resumed'}`}
  })
  return {paused: op.pause}
}

async function restartAwaitLeader(op: Op<'patroni.restart-await-leader'>, ctx: OperationContext): R<'patroni.restart-await-leader'> {
  const r = await postRestart(op.api)
  if (r.status !== 200) ctx.note(`POST /restart answered ${r.status}: ${r.text}`)
  const timeline = await waitUntil({what: `${op.member} as leader on a timeline after ${op.afterTimeline}`, timeoutMs: op.timeoutMs, intervalMs: 500, maxIntervalMs: 1000, signal: ctx.signal,
    onStatus: (s) => ctx.note(s)}, async () => {
    const s = await readClusterState(op.cluster, op.endpoints)
    const m = s.leader?.name === op.member ? s.leader : undefined
    return m && isHealthyState(m.state) && m.timeline !== undefined && m.timeline > op.afterTimeline
      ? {done: true, value: m.timeline}
      : {done: false, status: `leader ${s.leader?.name ?? 'none'} ${s.leader?.state ?? ''} on timeline ${s.leader?.timeline ?? '?'}`}
  })
  return {timeline}
}

async function verifyWritable(op: Op<'pg.verify-writable'>, ctx: OperationContext): R<'pg.verify-writable'> {
  const {writableTimeline} = await import('./postgres.js')
  const conn = {host: op.host, port: op.port, user: op.user, password: ctx.secrets.pgPassword, database: op.database}
  const w = await writableTimeline(conn, 5000)
  if (w.timeline <= op.afterTimeline) throw failure('NOT_A_NEW_TIMELINE', `${op.member} writes on timeline ${w.timeline}, not after the old ${op.afterTimeline}`)
  if (!op.verifySql) return {timeline: w.timeline}
  const rows = await withPg(conn, async (c) => (await c.query(op.verifySql!)).rows)
  if (failsCheck(firstValue(rows))) throw failure('VERIFY_SQL_FAILED', `--verify-sql returned ${JSON.stringify(firstValue(rows))} on the restored leader`)
  return {timeline: w.timeline, verifySql: rows}
}

/** A replica whose reinitialisation ended without it running: Patroni removes the data directory of a failed clone and, paused, never retries. */
const REINIT_FAILED = (state: string | undefined) => state !== undefined && (state === 'stopped' || state === 'crashed' || /failed/.test(state))
const REINIT_RETRY_AFTER_MS = 10_000
const REINIT_ATTEMPTS = 3

async function askReinit(m: {name: string; api: string}, force: boolean, ctx: OperationContext): Promise<void> {
  await waitUntil({what: `POST ${m.api}/reinitialize accepted`, timeoutMs: 60_000, intervalMs: 500, maxIntervalMs: 500, signal: ctx.signal, onStatus: (s) => ctx.note(s)}, async () => {
    const res = await postReinitialize(m.api, force)
    return res.status === 200 ? {done: true, value: res} : {done: false, status: `${m.name}: ${res.status} ${res.text}`}
  })
}

async function reinitReplicas(op: Op<'patroni.reinit-replicas'>, ctx: OperationContext): R<'patroni.reinit-replicas'> {
  const asked = new Map<string, {at: number; attempts: number}>()
  for (const m of op.replicas) {
    await askReinit(m, true, ctx)
    asked.set(m.name, {at: Date.now(), attempts: 1})
  }
  let replicas = op.replicas.map((r) => ({name: r.name} as OperationResult['patroni.reinit-replicas']['replicas'][number]))
  await waitUntil({what: `every replica streaming from ${op.leader}`, timeoutMs: op.timeoutMs, intervalMs: 500, maxIntervalMs: 1000, signal: ctx.signal, onStatus: (s) => ctx.note(s)}, async () => {
    const s = await readClusterState(op.cluster, op.endpoints)
    const rows = op.replicas.map((r) => s.members.find((m) => m.name === r.name))
    replicas = op.replicas.map((r, i) => ({name: r.name, ...(rows[i]?.state ? {state: rows[i]!.state} : {}), ...(rows[i]?.timeline === undefined ? {} : {timeline: rows[i]!.timeline})}))
    // A clone that failed (the leader busy, a connection dropped) is asked again, without force
    // so that one still in progress is never cancelled; a persistent failure still ends in the timeout.
    for (const [i, r] of op.replicas.entries()) {
      const a = asked.get(r.name)!
      if (REINIT_FAILED(rows[i]?.state) && Date.now() - a.at >= REINIT_RETRY_AFTER_MS && a.attempts < REINIT_ATTEMPTS) {
        ctx.note(`${r.name} is ${rows[i]!.state} after its reinitialisation: asking again (attempt ${a.attempts + 1} of ${REINIT_ATTEMPTS})`)
        const res = await postReinitialize(r.api, false)
        asked.set(r.name, {at: Date.now(), attempts: a.attempts + (res.status === 200 ? 1 : 0)})
      }
    }
    const tl = s.leader?.name === op.leader ? s.leader.timeline : undefined
    const ok = tl !== undefined && rows.every((m) => m && m.role === 'replica' && isHealthyState(m.state) && m.timeline === tl && m.lagBytes !== undefined)
    return ok ? {done: true, value: true} : {done: false, status: replicas.map((r) => `${r.name} ${r.state ?? '?'} tl ${r.timeline ?? '?'}`).join(', ')}
  })
  return {replicas}
}

async function validateChecks(op: Op<'backup.validate-checks'>, ctx: OperationContext): R<'backup.validate-checks'> {
  const {pgAmcheck} = await import('./pgctl.js')
  const checks: ValidateCheck[] = [{id: 'wal-continuity', ...op.continuity}]
  const age = op.newest ? Date.now() - new Date(op.newest.finishedAt).getTime() : Infinity
  checks.push({id: 'backup-age', ok: age <= op.maxBackupAgeMs, detail: `newest base backup ${op.newest?.id ?? 'none'} is ${(age / 3600_000).toFixed(1)} h old (limit ${(op.maxBackupAgeMs / 3600_000).toFixed(0)} h)`})
  const pw = ctx.secrets.pgPassword
  if (op.leader) {
    try {
      const r = await withPg({host: op.leader.host, port: op.leader.port, user: op.user, password: pw, database: op.database}, async (c) => (await c.query<{current: string; last: string | null; failed: boolean}>(
        `select pg_walfile_name(pg_current_wal_lsn()) as current, last_archived_wal as last,
                coalesce(last_failed_time > coalesce(last_archived_time, 'epoch'), false) as failed from pg_stat_archiver`)).rows[0]!)
      const behind = r.last ? parseInt(r.current.slice(8), 16) - parseInt(r.last.slice(8), 16) : Infinity
      checks.push({id: 'wal-rpo', ok: !r.failed && behind <= 1,
        detail: r.failed ? 'archive_command is failing on the leader (pg_stat_archiver)' : `the leader writes ${r.current}; last archived ${r.last ?? 'none'} (${behind <= 1 ? 'only the open segment is unarchived' : `${behind} segments behind`}; RPO ${op.rpoSeconds} s)`})
    } catch (error) {
      checks.push({id: 'wal-rpo', ok: false, detail: `could not ask the leader: ${errorMessage(error)}`})
    }
  }
  const am = await pgAmcheck(op.binDir, {port: op.port, user: op.user, password: pw})
  checks.push({id: 'amcheck', ok: am.ok, detail: am.available ? (am.ok ? 'pg_amcheck: no corruption found' : am.output) : 'skipped: pg_amcheck not installed', ...(am.available ? {} : {skipped: true})})
  for (const [k, sql] of op.checkSql.entries()) {
    try {
      const first = firstValue(await withPg({host: '127.0.0.1', port: op.port, user: op.user, password: pw, database: op.database}, async (c) => (await c.query(sql)).rows))
      checks.push({id: `sql-${k + 1}`, ok: !(failsCheck(first) || first === undefined || first === '0'), detail: `${sql} -> ${JSON.stringify(first)}`})
    } catch (error) {
      checks.push({id: `sql-${k + 1}`, ok: false, detail: `${sql} -> error: ${errorMessage(error)}`})
    }
  }
  const bad = checks.filter((c) => !c.ok)
  // The outcome of every check travels with the failure (the step's result).
  if (bad.length) throw failure('VALIDATION_FAILED', `${bad.length} check(s) failed: ${bad.map((b) => `${b.id}: ${b.detail}`).join('; ')}`, [], undefined, {result: {checks}})
  return {checks}
}

function writeRecord(stateFile: string, value: unknown): void {
  mkdirSync(dirname(stateFile), {recursive: true, mode: 0o700})
  writeFileSync(stateFile, JSON.stringify(value, null, 2) + '\n')
}

export async function runRestoreOperation(op: RestoreOperation, ctx: OperationContext): Promise<OperationResult[RestoreOperation['kind']]> {
  switch (op.kind) {
    case 'restore.prepare':
      return prepare(op)
    case 'wal.install-runtime': {
      const {writeWalRuntime} = await import('./wal-runtime.js')
      writeWalRuntime(op.dir, {cluster: op.cluster, endpoints: op.endpoints, backup: {bucket: op.bucket, prefix: op.prefix}, s3: {...op.s3, ...ctx.secrets.s3}}, op.owner)
      return {dir: op.dir}
    }
    case 'restore.fetch-base-backup':
      return fetchBaseBackup(op, ctx)
    case 'wal.prefetch': {
      // Background work, awaited by pg.await-promoted; aborted with the run.
      ctx.state[PREFETCH] = prefetch(op, ctx)
      return {files: op.names.length}
    }
    case 'pg.recovery-settings':
      return recoverySettingsOp(op)
    case 'pg.start': {
      writeFileSync(op.logFile, '')
      own(op.owner, op.logFile)
      ctx.state[startedKey(op.logFile)] = Date.now()
      const startedAt = new Date().toISOString()
      await pgStart(op.binDir, op.dataDir, op.logFile, op.owner)
      return {startedAt}
    }
    case 'pg.await-promoted':
      return awaitPromoted(op, ctx)
    case 'pg.verify-restored':
      return verifyRestored(op, ctx)
    case 'restore.mark-complete': {
      const marker = join(op.dataDir, MARKER)
      rmSync(op.spool, {recursive: true, force: true})
      rmSync(op.runtime, {recursive: true, force: true})
      const lastTransactionAt = ctx.state['restore.lastTransactionAt'] as string | undefined
      writeFileSync(marker, JSON.stringify({status: 'complete', ...op.marker, ...(lastTransactionAt ? {lastTransactionAt} : {}), completedAt: new Date().toISOString()}) + '\n')
      return {marker}
    }
    case 'pg.destroy-instance':
      return destroyInstance(op)
    case 'backup.validate-checks':
      return validateChecks(op, ctx)
    case 'restore.record': {
      const prev = readJsonFile(op.stateFile, IntoClusterRecordFileSchema)
      writeRecord(op.stateFile, {status: 'in-progress', ...op.record, startedAt: prev?.id === op.record.id && prev.startedAt ? prev.startedAt : new Date().toISOString()})
      return {stateFile: op.stateFile}
    }
    case 'restore.detach-side':
      return detachSide(op)
    case 'patroni.set-pause':
      return setPause(op, ctx)
    case 'restore.swap-data-dir':
      return swap(op)
    case 'patroni.restart-await-leader':
      return restartAwaitLeader(op, ctx)
    case 'pg.verify-writable':
      return verifyWritable(op, ctx)
    case 'patroni.reinit-replicas':
      return reinitReplicas(op, ctx)
    case 'wal.await-archived': {
      const {headObject, s3Client} = await import('./s3.js')
      const client = await s3Client({...op.s3, ...ctx.secrets.s3})
      try {
        await waitUntil({what: `${op.keys.join(', ')} in s3://${op.bucket}`, timeoutMs: op.timeoutMs, intervalMs: 250, maxIntervalMs: 1000, signal: ctx.signal, code: 'NOT_ARCHIVED',
          suggestions: ['The cluster is not archiving its current timeline: `vaultctl status --component postgres` shows why. Restoring now would reuse its timeline ID.'],
          onStatus: (s) => ctx.note(s)}, async () => {
          const missing = []
          for (const k of op.keys) if (!(await headObject(client, op.bucket, k))) missing.push(k)
          return missing.length ? {done: false, status: `not archived yet: ${missing.join(', ')}`} : {done: true, value: true}
        })
      } finally {
        client.destroy()
      }
      return {keys: op.keys}
    }
    case 'restore.finish-record': {
      const rec = readJsonFile(op.stateFile, IntoClusterRecordFileSchema)
      if (!rec) throw failure('NO_RESTORE_RECORD', `${op.stateFile} is gone: the restore's record was removed while it ran`)
      const completedAt = new Date().toISOString()
      writeRecord(op.stateFile, {...rec, status: 'complete', completedAt})
      return {completedAt}
    }
  }
}
