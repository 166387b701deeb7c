// Point-in-time restore into a NEW data directory (a side instance): newest base backup that ended
// before the target, its WAL from the archive through `vaultctl wal fetch`, recovery settings the
// PostgreSQL 12+ way (postgresql.auto.conf + recovery.signal; never recovery.conf), port and
// archiving overridden so it cannot touch production, started, watched until promoted, verified.
import {createHash} from 'node:crypto'
import {appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {extractTar} from '../clients/basebackup.js'
import {pgStart, pgStop, type OsUser} from '../clients/pgctl.js'
import {portInUse} from '../clients/process.js'
import {getObjectStream, s3Client, type S3Conn} from '../clients/s3.js'
import {errorMessage, failure, refusal} from '../errors.js'
import {waitUntil} from '../wait.js'
import type {Plan, Step} from '../plan/types.js'
import type {BackupManifest} from '../backup/base.js'
import {readCatalog} from '../backup/catalog.js'
import {parseLsn, s3Url, type BackupLocation} from '../backup/layout.js'
import {windowWithCommits} from '../backup/last-commit.js'
import {writeWalRuntime} from '../backup/runtime.js'
import {backupFor, chainSegments, describeWindow, type BackupWindow, type Window} from '../backup/window.js'
import {describeTarget, pgTimestamp, type RecoveryTarget} from './target.js'

export type PitrSource = {
  cluster: string
  endpoints: string[]
  user: string
  password?: string
  database: string
  binDir: string
  location: BackupLocation
  conn: S3Conn
  /** patroni.yml for the patronictl commands printed in plans. */
  patronictlConfig?: string
}

export type PitrOptions = {
  target: RecoveryTarget; dataDir?: string; port?: number; verifySql?: string; restoresRoot: string; osUser?: OsUser; timeoutMs: number
  /** `--into cluster` re-run: the side restore already completed (or was swapped in): plan no side steps. */
  sideDone?: boolean
  /** ... and its target was checked against the window when it was first planned: do not refuse it now. */
  targetVerified?: boolean
}

export type PitrOutcome = {
  id?: string
  dataDir?: string
  port?: number
  connection?: string
  backup?: string
  logFile?: string
  lastTransactionAt?: string
  promotedAfterMs?: number
  verifySql?: unknown
}

export const MARKER = 'vaultctl-restore.json'
/** The first line of the block vaultctl appends to postgresql.auto.conf. */
const SETTINGS_HEADER = '# --- vaultctl restore pitr '

function chooseBackup(w: Window, backups: BackupManifest[], target: RecoveryTarget): BackupWindow | undefined {
  if (target.kind === 'time') return backupFor(w, target.time)
  if (target.kind === 'latest') return w.backups.at(-1)
  const lsn = parseLsn(target.lsn)
  return [...w.backups].reverse().find((b) => parseLsn(b.fromLsn) <= lsn && parseLsn(b.toLsn) >= lsn && backups.some((m) => m.id === b.backup))
}

async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 100; p++) if (!(await portInUse(p))) return p
  throw refusal('NO_FREE_PORT', `no free port in ${from}-${from + 99} for the restored instance`, ['Pass --port N.'])
}

function recoverySettings(o: {restoreCommand: string; target: RecoveryTarget; port: number; dataDir: string; id: string}): string {
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`
  const lines = [
    `${SETTINGS_HEADER}${o.id}: recovery settings (PostgreSQL 12+: postgresql.auto.conf + recovery.signal) ---`,
    `restore_command = ${q(o.restoreCommand)}`,
    ...(o.target.kind === 'time' ? [`recovery_target_time = ${q(pgTimestamp(o.target.time))}`] : []),
    ...(o.target.kind === 'lsn' ? [`recovery_target_lsn = ${q(o.target.lsn)}`] : []),
    `recovery_target_action = 'promote'`,
    `recovery_target_timeline = 'latest'`,
    '# a side instance: its own port and files, and it must never archive into the production archive',
    `port = ${o.port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = ''`,
    `archive_mode = 'off'`,
    `archive_command = ''`,
    `primary_conninfo = ''`,
    `primary_slot_name = ''`,
    `hba_file = ${q(join(o.dataDir, 'pg_hba.conf'))}`,
    `ident_file = ${q(join(o.dataDir, 'pg_ident.conf'))}`,
    `cluster_name = ${q(`restore-${o.id}`)}`,
  ]
  return lines.join('\n') + '\n'
}

/** postgresql.auto.conf without the side-instance block vaultctl appended (what was there before stays). */
export function stripRecoverySettings(text: string): string {
  const at = text.indexOf(SETTINGS_HEADER)
  return at < 0 ? text : text.slice(0, at)
}

export const targetSlug = (t: RecoveryTarget): string =>
  t.kind === 'time' ? t.time.toISOString().replace(/[-:]/g, '') : t.kind === 'lsn' ? t.lsn.replace('/', '-') : `latest-${Date.now()}`

/** "last completed transaction was at log time 2026-11-26 22:55:00.5+00" -> Date. */
export function lastTransactionTime(log: string): Date | undefined {
  const m = [...log.matchAll(/last completed transaction was at log time ([0-9-]+ [0-9:.]+[+-]\d\d(?::?\d\d)?)/g)].at(-1)
  return m ? new Date(m[1]!.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')) : undefined
}

const PREFETCH_MAX = 256 // 4 GiB of WAL at most in the spool

/**
 * Fetch WAL files into the spool in recovery order, `workers` at a time. Runs while PostgreSQL
 * replays: restore_command waits for a file the prefetcher has not written yet. A file that fails
 * to download just stays missing (restore_command then fetches it itself). Ends by writing
 * `.done`, and `.complete` when every file of the recovery path was tried.
 */
async function prefetchWal(src: PitrSource, names: string[], spool: string, complete: boolean, signal: AbortSignal, user?: OsUser, workers = 8): Promise<{fetched: number; failed: number}> {
  const {fetchWal} = await import('../backup/wal.js')
  let next = 0
  let fetched = 0
  let failed = 0
  const worker = async () => {
    // Stops when the run ends or is interrupted: nothing keeps downloading after vaultctl has reported.
    while (next < names.length && !signal.aborted) {
      const name = names[next++]!
      try {
        const r = await fetchWal(src.conn, src.location, name, join(spool, name))
        if (r.outcome === 'fetched') {
          fetched++
          if (user) chownSync(join(spool, name), user.uid, user.gid)
        }
      } catch {
        failed++
      }
    }
  }
  try {
    await Promise.all(Array.from({length: workers}, worker))
  } finally {
    if (complete && failed === 0 && !signal.aborted && existsSync(spool)) writeFileSync(join(spool, '.complete'), '')
    if (existsSync(spool)) writeFileSync(join(spool, '.done'), '')
  }
  return {fetched, failed}
}

export async function planPitr(src: PitrSource, env: {name: string; protected: boolean}, opts: PitrOptions, out: PitrOutcome): Promise<{plan: Plan; window: Window}> {
  const catalog = await readCatalog(src.conn, src.location)
  // A time target needs a commit after it in the archive: check it against the same window
  // `backup list` prints (each window ends just before its last archived commit).
  const w = opts.target.kind === 'time' ? await windowWithCommits(src.binDir, src.conn, src.location, catalog.window, catalog.histories) : catalog.window
  const chosen = chooseBackup(w, catalog.backups, opts.target)
  if (!chosen && opts.targetVerified) {
    // A re-run of `--into cluster` after its side restore completed (or was swapped in): the
    // target was checked when the restore was planned, and the window may now follow the
    // restored timeline, whose WAL is not archived yet. Nothing is left to do on the side.
    const id = `${src.cluster}-${targetSlug(opts.target)}`
    Object.assign(out, {id, dataDir: opts.dataDir})
    return {window: w, plan: {command: 'restore pitr', env: env.name, protected: env.protected, summary: `the side restore to ${describeTarget(opts.target)} is already done`, preconditions: [], steps: []}}
  }
  if (!chosen) {
    const late = opts.target.kind === 'time' && w.latest !== undefined && opts.target.time > new Date(w.latest)
    throw refusal(late ? 'TARGET_AFTER_LAST_COMMIT' : 'TARGET_OUTSIDE_WINDOW', `${describeTarget(opts.target)} is not restorable: restorable window is ${describeWindow(w)}`,
      [late
        ? 'The archive holds no transaction after the target, and recovery must see one to stop there. For a recent target, switch WAL on the leader (`select pg_switch_wal()`) and wait for it to be archived, or use --latest.'
        : 'Pick a target inside the window (`vaultctl backup list`), or take a base backup earlier next time.'],
      {window: w})
  }
  const manifest = catalog.backups.find((b) => b.id === chosen.backup)!
  // --latest is resolved when planned, to the end of the archived WAL on the recovery path: the
  // restore is named after it, so a re-run of an interrupted one finds its own directory.
  const id = `${src.cluster}-${opts.target.kind === 'latest' ? `latest-${chosen.toLsn.replace('/', '-')}` : targetSlug(opts.target)}`
  const dataDir = opts.dataDir ?? join(opts.restoresRoot, id)
  const logFile = `${dataDir}.log`
  const port = opts.port ?? await freePort(15_432)
  const markerFile = join(dataDir, MARKER)
  const previous = existsSync(markerFile) ? JSON.parse(readFileSync(markerFile, 'utf8')) as {status: string} : undefined
  if (previous?.status === 'complete' && !opts.sideDone) {
    throw refusal('ALREADY_RESTORED', `${dataDir} already holds a completed restore to ${describeTarget(opts.target)}`, [`Use it, or remove it first (pg_ctl -D ${dataDir} stop; rm -rf ${dataDir}).`])
  }
  if (!previous && existsSync(dataDir) && !opts.sideDone) {
    throw refusal('DATA_DIR_EXISTS', `${dataDir} exists and is not a vaultctl restore in progress: refusing to write into it`, ['Pass a new --data-dir.'])
  }
  const user = opts.osUser
  const own = (p: string) => user && chownSync(p, user.uid, user.gid)
  const tarUrl = s3Url(src.location, manifest.key)
  const runtimeDir = join(opts.restoresRoot, '.wal-runtime')
  const spool = `${dataDir}.wal-spool`
  // Segments recovery will read, fetched in parallel while the base backup streams in (capped:
  // beyond it, restore_command fetches on demand). History files are small: all of them.
  const chain = chainSegments(w, catalog.histories, chosen, manifest.startLsn)
  const capped = chain.length > PREFETCH_MAX
  const prefetch = [...catalog.wal.map((x) => x.name).filter((n) => n.endsWith('.history')), ...chain.slice(0, PREFETCH_MAX)]
  let restoreCommand = ''
  let prefetching: Promise<{fetched: number; failed: number}> | undefined
  const started = {at: 0}
  const steps: Step[] = [
    {
      id: 'prepare', title: `${previous ? 'clear the interrupted restore in' : 'create'} the new data directory ${dataDir}`, risk: 'write',
      manual: `${previous ? `pg_ctl -D ${dataDir} stop -m fast; rm -rf ${dataDir}; ` : ''}mkdir -m 700 ${dataDir}`,
      async run() {
        mkdirSync(opts.restoresRoot, {recursive: true, mode: 0o700})
        own(opts.restoresRoot)
        if (existsSync(markerFile)) {
          // Our own interrupted run: stop what it may have started, then start over.
          if (existsSync(join(dataDir, 'postmaster.pid'))) await pgStop(src.binDir, dataDir, user).catch(() => undefined)
          rmSync(dataDir, {recursive: true, force: true})
        }
        rmSync(spool, {recursive: true, force: true})
        mkdirSync(spool, {mode: 0o700})
        own(spool)
        mkdirSync(dataDir, {recursive: true, mode: 0o700})
        writeFileSync(markerFile, JSON.stringify({status: 'restoring', id, backup: manifest.id, target: describeTarget(opts.target), port, startedAt: new Date().toISOString()}) + '\n')
        own(dataDir)
        own(markerFile)
        const rt = writeWalRuntime(runtimeDir, {cluster: src.cluster, endpoints: src.endpoints, backup: {bucket: src.location.bucket, prefix: src.location.prefix},
          s3: {endpoint: src.conn.endpoint, region: src.conn.region, forcePathStyle: src.conn.forcePathStyle, accessKeyId: src.conn.accessKeyId, secretAccessKey: src.conn.secretAccessKey}}, user)
        // WAL prefetched into the spool is copied into place, never moved: PostgreSQL may ask for
        // the same file more than once (it re-reads timeline history files when it picks the
        // recovery target timeline), and every answer must be the same. While the prefetcher (this process)
        // runs, wait for a file it has not written yet; once it is done (.done), anything not in
        // the spool is fetched on demand, unless the spool held the whole recovery path
        // (.complete): then the file was not archived when the restore was planned, and the
        // answer is "missing" at once.
        restoreCommand = `while [ ! -f ${spool}/%f ] && [ ! -e ${spool}/.done ] && [ -d /proc/${process.pid} ]; do sleep 0.05; done; `
          + `if [ -f ${spool}/%f ]; then cp ${spool}/%f %p; elif [ -e ${spool}/.complete ]; then exit 1; else ${rt.prefix} fetch %f %p ${rt.suffix}; fi`
      },
    },
    {
      id: 'fetch-base-backup', title: `stream base backup ${manifest.id} (${(manifest.bytes / 1024 / 1024).toFixed(0)} MiB) from S3 into it, checking its SHA-256; then prefetch ${prefetch.length} WAL files while recovery runs`, risk: 'write',
      manual: `aws s3 cp ${tarUrl} - | tar -x -C ${dataDir}; for f in ${prefetch.slice(0, 2).join(' ')} ...; do vaultctl wal fetch $f ${spool}/$f; done &`,
      async run(ctx) {
        const client = await s3Client(src.conn)
        try {
          const {stream} = await getObjectStream(client, src.location.bucket, manifest.key)
          const stop = () => (stream as NodeJS.ReadableStream & {destroy(e?: Error): void}).destroy(new Error('interrupted'))
          ctx.signal.addEventListener('abort', stop, {once: true})
          const hash = createHash('sha256')
          const tee = new PassThrough({highWaterMark: 64 * 1024 * 1024}) // let download and untar overlap
          stream.on('data', (c: Buffer) => hash.update(c))
          stream.pipe(tee)
          await extractTar(tee, dataDir, user, ctx.signal)
          const sum = hash.digest('hex')
          if (sum !== manifest.sha256) throw failure('BACKUP_CORRUPT', `${tarUrl}: sha256 ${sum} does not match the manifest's ${manifest.sha256}`, ['The base backup is damaged: restore from an older one (`vaultctl backup list`).'])
          // The WAL streams into the spool while PostgreSQL starts and replays (not while tar
          // runs: on a small machine they compete for the same CPUs).
          ctx.signal.removeEventListener('abort', stop)
          prefetching = prefetchWal(src, prefetch, spool, !capped, ctx.signal, user)
          return {detail: `${prefetch.length} WAL files to prefetch during recovery${capped ? ` (first ${PREFETCH_MAX} segments; the rest on demand)` : ''}`}
        } finally {
          client.destroy()
        }
      },
    },
    {
      id: 'recovery-settings', title: `write recovery settings for ${describeTarget(opts.target)} (postgresql.auto.conf + recovery.signal), port ${port}, archiving off`, risk: 'write',
      manual: `cat >> ${dataDir}/postgresql.auto.conf <<EOF\nrestore_command = 'vaultctl wal fetch %f %p --env ${env.name}'\n${opts.target.kind === 'time' ? `recovery_target_time = '${pgTimestamp(opts.target.time)}'\n` : opts.target.kind === 'lsn' ? `recovery_target_lsn = '${opts.target.lsn}'\n` : ''}recovery_target_action = 'promote'\nport = ${port}\narchive_mode = 'off'\nEOF\ntouch ${dataDir}/recovery.signal`,
      async run() {
        for (const f of ['standby.signal', 'postmaster.pid', 'recovery.conf']) rmSync(join(dataDir, f), {force: true})
        appendFileSync(join(dataDir, 'postgresql.auto.conf'), recoverySettings({restoreCommand, target: opts.target, port, dataDir, id}))
        writeFileSync(join(dataDir, 'recovery.signal'), '')
        own(join(dataDir, 'postgresql.auto.conf'))
        own(join(dataDir, 'recovery.signal'))
      },
    },
    {
      id: 'start', title: `start the restored instance on 127.0.0.1:${port}`, risk: 'write',
      manual: `pg_ctl -D ${dataDir} -l ${logFile} start`,
      async run() {
        writeFileSync(logFile, '')
        own(logFile)
        started.at = Date.now()
        await pgStart(src.binDir, dataDir, logFile, user)
      },
    },
    {
      id: 'wait-promoted', title: 'wait until recovery reaches the target and the server is promoted', risk: 'read',
      manual: `tail -f ${logFile}   # until "database system is ready to accept connections" after "selected new timeline ID"`,
      async run(ctx) {
        const {withPg} = await import('../clients/postgres.js')
        return waitUntil({what: `recovery to ${describeTarget(opts.target)} and promotion`, timeoutMs: opts.timeoutMs, intervalMs: 250, maxIntervalMs: 250, signal: ctx.signal,
          code: 'RECOVERY_TIMEOUT', suggestions: [`It may still be replaying: see ${logFile}.`], onStatus: (m) => ctx.note(m)}, async () => {
          const log = readFileSync(logFile, 'utf8')
          // Connection attempts during recovery log FATALs of their own; look for the server's.
          const fatal = [...log.matchAll(/FATAL:\s+(.*)/g)].map((m) => m[1]!).find((f) => !/the database system is (starting up|not yet accepting connections)|password authentication/.test(f))
          if (fatal) {
            throw failure('RECOVERY_FAILED', `the restored server stopped: ${fatal}`, [
              ...(/recovery ended before configured recovery target/.test(fatal) ? ['The archive holds no transaction after the target: pick an earlier target, or archive the newest WAL first (select pg_switch_wal() on the leader).'] : []),
              `See ${logFile}. The source cluster was not touched.`])
          }
          let inRecovery: boolean
          try {
            inRecovery = await withPg({host: '127.0.0.1', port, user: src.user, password: src.password, database: src.database},
              async (c) => (await c.query<{r: boolean}>('select pg_is_in_recovery() as r')).rows[0]!.r, 1000)
          } catch (error) {
            return {done: false, status: `waiting for the server (${errorMessage(error)})`}
          }
          if (inRecovery) return {done: false, status: 'replaying WAL'}
          out.promotedAfterMs = Date.now() - started.at
          const wal = await prefetching
          return {done: true, value: {detail: `promoted after ${(out.promotedAfterMs / 1000).toFixed(1)} s${wal ? `; ${wal.fetched} WAL files prefetched${wal.failed ? `, ${wal.failed} failed (fetched on demand)` : ''}` : ''}`}}
        })
      },
    },
    {
      id: 'verify', title: `verify: not in recovery, last replayed transaction not after the target${opts.verifySql ? ', --verify-sql' : ''}`, risk: 'read',
      manual: `psql -h 127.0.0.1 -p ${port} -U ${src.user} -c 'select pg_is_in_recovery()'${opts.verifySql ? ` -c ${JSON.stringify(opts.verifySql)}` : ''}`,
      async run() {
        const log = readFileSync(logFile, 'utf8')
        const last = lastTransactionTime(log)
        if (last) out.lastTransactionAt = last.toISOString()
        if (opts.target.kind === 'time' && last && last > opts.target.time) {
          throw failure('RECOVERED_PAST_TARGET', `the last replayed transaction is from ${last.toISOString()}, after the target ${opts.target.time.toISOString()}`)
        }
        if (opts.verifySql) {
          const {withPg} = await import('../clients/postgres.js')
          const rows = await withPg({host: '127.0.0.1', port, user: src.user, password: src.password, database: src.database}, async (c) => (await c.query(opts.verifySql!)).rows)
          out.verifySql = rows
          const first = rows[0] ? Object.values(rows[0] as Record<string, unknown>)[0] : undefined
          if (first === false || first === 0 || first === null) throw failure('VERIFY_SQL_FAILED', `--verify-sql returned ${JSON.stringify(first)}`)
        }
        rmSync(spool, {recursive: true, force: true})
        writeFileSync(markerFile, JSON.stringify({status: 'complete', id, backup: manifest.id, target: describeTarget(opts.target), port, lastTransactionAt: out.lastTransactionAt, completedAt: new Date().toISOString()}) + '\n')
        return {detail: out.lastTransactionAt ? `last transaction ${out.lastTransactionAt}` : 'no transaction replayed after the backup'}
      },
    },
  ]
  if (opts.sideDone) steps.length = 0
  Object.assign(out, {id, dataDir, port, backup: manifest.id, logFile, connection: `postgresql://${src.user}@127.0.0.1:${port}/${src.database}`})
  return {window: w, plan: {
    command: 'restore pitr', env: env.name, protected: env.protected,
    summary: `restore ${src.cluster} to ${describeTarget(opts.target)} from base backup ${manifest.id} into a new side instance ${dataDir} on port ${port}`,
    observed: {window: `${w.earliest} .. ${w.latest}`, backup: manifest.id, backupEnd: manifest.finishedAt, timeline: w.targetTimeline,
      ...(opts.target.kind === 'latest' ? {latest: `the archived WAL up to ${chosen.lastSegment} (LSN ${chosen.toLsn})`} : {})},
    preconditions: [], steps,
    recovery: `The source cluster is never touched by a side restore. Re-run the same command to start over cleanly (it clears its own interrupted ${dataDir}).`,
  }}
}
