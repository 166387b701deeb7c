// Point-in-time restore into a NEW data directory (a side instance): newest base backup that ended
// before the target, its WAL from the archive through `vaultctl wal fetch`, recovery settings the
// PostgreSQL 12+ way (postgresql.auto.conf + recovery.signal; never recovery.conf), port and
// archiving overridden so it cannot touch production, started, watched until promoted, verified.
// Pure: observe.ts reads the catalog and the data directory; this turns that state into a plan.
import {join} from 'node:path'
import {refusal} from '../errors.js'
import type {S3Conn} from '../clients/s3.js'
import type {Plan, Step} from '../plan/types.js'
import type {MarkerInfo, Owner} from '../plan/ops-restore.js'
import type {BackupManifest} from '../backup/base.js'
import {parseLsn, type BackupLocation} from '../backup/layout.js'
import {backupFor, chainSegments, describeWindow, type BackupWindow, type History, type Window} from '../backup/window.js'
import {describeTarget, type RecoveryTarget} from './target.js'
import {sidePaths, type PlannedTarget} from './settings.js'

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
  target: RecoveryTarget; dataDir?: string; port?: number; verifySql?: string; restoresRoot: string; osUser?: Owner; timeoutMs: number
  /** `--into cluster` re-run: the side restore already completed (or was swapped in): plan no side steps. */
  sideDone?: boolean
  /** ... and its target was checked against the window when it was first planned: do not refuse it now. */
  targetVerified?: boolean
}

/** What a side restore's plan is made from (observe.ts reads it). */
export type SideState = {
  backups: BackupManifest[]
  walNames: string[]
  histories: History[]
  /** the restorable window (for a time target: each backup's window ends before its last archived commit) */
  window: Window
  /** what is at the data directory the restore would use: nothing, a marker's status, or a foreign directory */
  dataDir: {path: string; content: 'absent' | 'foreign' | 'restoring' | 'complete'}
  /** --port, or the first free port from 15432 */
  port: number
}

/** What is known of a side restore once planned (execution adds the replayed transaction and timings). */
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

const PREFETCH_MAX = 256 // 4 GiB of WAL at most in the spool

export const plannedTarget = (t: RecoveryTarget): PlannedTarget => (t.kind === 'time' ? {kind: 'time', time: t.time.toISOString()} : t)

export const targetSlug = (t: RecoveryTarget): string =>
  t.kind === 'time' ? t.time.toISOString().replace(/[-:]/g, '') : t.kind === 'lsn' ? t.lsn.replace('/', '-') : 'latest'

function chooseBackup(w: Window, backups: BackupManifest[], target: RecoveryTarget): BackupWindow | undefined {
  if (target.kind === 'time') return backupFor(w, target.time)
  if (target.kind === 'latest') return w.backups.at(-1)
  const lsn = parseLsn(target.lsn)
  return [...w.backups].reverse().find((b) => parseLsn(b.fromLsn) <= lsn && parseLsn(b.toLsn) >= lsn && backups.some((m) => m.id === b.backup))
}

export type SideChoice = {chosen: BackupWindow; manifest: BackupManifest; id: string; dataDir: string}

/**
 * The backup a restore starts from, and its name and data directory (undefined: nothing to restore
 * from, for a re-run whose target was verified before). Refuses a target outside the window.
 */
export function chooseSide(src: PitrSource, opts: PitrOptions, w: Window, backups: BackupManifest[]): SideChoice | undefined {
  const chosen = chooseBackup(w, backups, opts.target)
  if (!chosen && opts.targetVerified) return undefined
  if (!chosen) {
    const late = opts.target.kind === 'time' && w.latest !== undefined && opts.target.time > new Date(w.latest)
    throw refusal(late ? 'TARGET_AFTER_LAST_COMMIT' : 'TARGET_OUTSIDE_WINDOW', `${describeTarget(opts.target)} is not restorable: restorable window is ${describeWindow(w)}`,
      [late
        ? 'The archive holds no transaction after the target, and recovery must see one to stop there. For a recent target, switch WAL on the leader (`select pg_switch_wal()`) and wait for it to be archived, or use --latest.'
        : 'Pick a target inside the window (`vaultctl backup list`), or take a base backup earlier next time.'],
      {window: w})
  }
  const manifest = backups.find((b) => b.id === chosen.backup)!
  // --latest is resolved when planned, to the end of the archived WAL on the recovery path: the
  // restore is named after it, so a re-run of an interrupted one finds its own directory.
  const id = `${src.cluster}-${opts.target.kind === 'latest' ? `latest-${chosen.toLsn.replace('/', '-')}` : targetSlug(opts.target)}`
  return {chosen, manifest, id, dataDir: opts.dataDir ?? join(opts.restoresRoot, id)}
}

function refuseDataDir(state: SideState, opts: PitrOptions): void {
  const {path, content} = state.dataDir
  if (content === 'complete' && !opts.sideDone) {
    throw refusal('ALREADY_RESTORED', `${path} already holds a completed restore to ${describeTarget(opts.target)}`, [`Use it, or remove it first (pg_ctl -D ${path} stop; rm -rf ${path}).`])
  }
  if (content === 'foreign' && !opts.sideDone) throw refusal('DATA_DIR_EXISTS', `${path} exists and is not a vaultctl restore in progress: refusing to write into it`, ['Pass a new --data-dir.'])
}

type SideParts = {src: PitrSource; opts: PitrOptions; state: SideState; choice: SideChoice}

/** The steps of a side restore, each one operation. */
function sideSteps({src, opts, state, choice}: SideParts): Step[] {
  const {manifest, chosen, id, dataDir} = choice
  const owner = opts.osUser
  const s3 = {endpoint: src.conn.endpoint, region: src.conn.region, forcePathStyle: src.conn.forcePathStyle}
  const {spool, log: logFile, runtime: runtimeDir} = sidePaths(dataDir)
  const port = state.port
  const marker: MarkerInfo = {id, backup: manifest.id, target: describeTarget(opts.target), port}
  // Segments recovery will read, fetched in parallel while PostgreSQL replays (capped: beyond it,
  // restore_command fetches on demand). History files are small: all of them.
  const chain = chainSegments(state.window, state.histories, chosen, manifest.startLsn)
  const names = [...state.walNames.filter((n) => n.endsWith('.history')), ...chain.slice(0, PREFETCH_MAX)]
  const pg = {port, user: src.user, database: src.database}
  const target = describeTarget(opts.target)
  return [
    {id: 'prepare', title: `${state.dataDir.content === 'restoring' ? 'clear the interrupted restore in' : 'create'} the new data directory ${dataDir}`, risk: 'write',
      op: {kind: 'restore.prepare', restoresRoot: opts.restoresRoot, dataDir, spool, runtime: runtimeDir, binDir: src.binDir, marker, ...(owner ? {owner} : {})}},
    {id: 'wal-runtime', title: `install the restore_command runtime (vaultctl wal fetch) in ${runtimeDir}`, risk: 'write',
      op: {kind: 'wal.install-runtime', dir: runtimeDir, cluster: src.cluster, endpoints: src.endpoints, bucket: src.location.bucket, prefix: src.location.prefix, s3, ...(owner ? {owner} : {})}},
    {id: 'fetch-base-backup', title: `stream base backup ${manifest.id} (${(manifest.bytes / 1024 / 1024).toFixed(0)} MiB) from S3 into it, checking its SHA-256`, risk: 'write',
      op: {kind: 'restore.fetch-base-backup', s3, bucket: src.location.bucket, key: manifest.key, sha256: manifest.sha256, bytes: manifest.bytes, dataDir, ...(manifest.compression && manifest.compression !== 'none' ? {compression: manifest.compression} : {}), ...(owner ? {owner} : {})}},
    {id: 'prefetch-wal', title: `prefetch ${names.length} WAL files into ${spool} while recovery runs${chain.length > PREFETCH_MAX ? ` (first ${PREFETCH_MAX} segments; the rest on demand)` : ''}`, risk: 'write',
      op: {kind: 'wal.prefetch', s3, bucket: src.location.bucket, prefix: src.location.prefix, cluster: src.location.cluster, names, spool, complete: chain.length <= PREFETCH_MAX, workers: 8, ...(owner ? {owner} : {})}},
    {id: 'recovery-settings', title: `write recovery settings for ${target} (postgresql.auto.conf + recovery.signal), port ${port}, archiving off`, risk: 'write',
      op: {kind: 'pg.recovery-settings', settings: {id, dataDir, port, target: plannedTarget(opts.target), spool, runtimeDir}, ...(owner ? {owner} : {})}},
    {id: 'start', title: `start the restored instance on 127.0.0.1:${port}`, risk: 'write', op: {kind: 'pg.start', binDir: src.binDir, dataDir, logFile, ...(owner ? {owner} : {})}},
    {id: 'wait-promoted', title: 'wait until recovery reaches the target and the server is promoted', risk: 'read',
      op: {kind: 'pg.await-promoted', ...pg, logFile, target, timeoutMs: opts.timeoutMs}},
    {id: 'verify', title: `verify: not in recovery, last replayed transaction not after the target${opts.verifySql ? ', --verify-sql' : ''}`, risk: 'read',
      op: {kind: 'pg.verify-restored', ...pg, logFile, ...(opts.target.kind === 'time' ? {notAfter: opts.target.time.toISOString()} : {}), ...(opts.verifySql ? {verifySql: opts.verifySql} : {})}},
    {id: 'mark-complete', title: `mark ${dataDir} a completed restore and drop its WAL spool and restore_command runtime (S3 keys)`, risk: 'write', op: {kind: 'restore.mark-complete', dataDir, spool, runtime: runtimeDir, marker}},
  ]
}

/** A side restore's plan from the observed state (`env` for the plan's header). */
export function planSide(src: PitrSource, env: {name: string; protected: boolean}, opts: PitrOptions, state: SideState): {plan: Plan; window: Window; outcome: PitrOutcome} {
  const w = state.window
  const choice = chooseSide(src, opts, w, state.backups)
  if (!choice) {
    // A re-run of `--into cluster` after its side restore completed (or was swapped in): the
    // target was checked when the restore was planned, and the window may now follow the
    // restored timeline, whose WAL is not archived yet. Nothing is left to do on the side.
    return {window: w, outcome: {id: `${src.cluster}-${targetSlug(opts.target)}`, dataDir: opts.dataDir},
      plan: {command: 'restore pitr', env: env.name, protected: env.protected, summary: `the side restore to ${describeTarget(opts.target)} is already done`, preconditions: [], steps: []}}
  }
  refuseDataDir(state, opts)
  const {manifest, chosen, id, dataDir} = choice
  const port = state.port
  const outcome: PitrOutcome = {id, dataDir, port, backup: manifest.id, logFile: `${dataDir}.log`, connection: `postgresql://${src.user}@127.0.0.1:${port}/${src.database}`}
  return {window: w, outcome, plan: {
    command: 'restore pitr', env: env.name, protected: env.protected,
    summary: `restore ${src.cluster} to ${describeTarget(opts.target)} from base backup ${manifest.id} into a new side instance ${dataDir} on port ${port}`,
    observed: {window: `${w.earliest} .. ${w.latest}`, backup: manifest.id, backupEnd: manifest.finishedAt, timeline: w.targetTimeline,
      ...(opts.target.kind === 'latest' ? {latest: `the archived WAL up to ${chosen.lastSegment} (LSN ${chosen.toLsn})`} : {})},
    fingerprint: {backup: manifest.id, sha256: manifest.sha256, dataDir: state.dataDir, port},
    preconditions: [], steps: opts.sideDone ? [] : sideSteps({src, opts, state, choice}),
    recovery: `The source cluster is never touched by a side restore. Re-run the same command to start over cleanly (it clears its own interrupted ${dataDir}).`,
  }}
}
