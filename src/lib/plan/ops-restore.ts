// The operations of a PostgreSQL point-in-time restore (a side instance, and the swap of its data
// into a Patroni cluster), and the command an operator would type for each. Pure data: the
// executor is src/lib/clients/restore-ops.ts.
import {z} from 'zod'
import {join} from 'node:path'
import {MARKER, SETTINGS_HEADER, recoverySettings, sidePaths, walRuntimeCommand, type SideSettings} from '../restore/settings.js'
import {shellLine, shellQuote, type S3Where} from './operations.js'
import {manualDecompress, type CompressionMethod} from '../backup/compression.js'

/** The OS user a restored server runs as (when vaultctl runs as root: postgres). */
export type Owner = {uid: number; gid: number}

/** What the marker file in a side restore's data directory says about it. */
export type MarkerInfo = {id: string; backup: string; target: string; port: number}

/**
 * Create a side restore's data directory and WAL spool, or clear this restore's own interrupted
 * attempt (its marker file says so) and start over; refuses a directory that is not one.
 */
export type PrepareRestore = {kind: 'restore.prepare'; restoresRoot: string; dataDir: string; spool: string; runtime: string; binDir: string; marker: MarkerInfo; owner?: Owner}

/** Install the self-contained `vaultctl wal` the restored server runs as restore_command (S3 keys from the executor, mode 600). */
export type InstallWalRuntime = {kind: 'wal.install-runtime'; dir: string; cluster: string; endpoints: string[]; bucket: string; prefix: string; s3: S3Where; owner?: Owner}

/** Stream a base backup from S3 through tar into the data directory, checking its SHA-256 against the manifest. */
export type FetchBaseBackup = {kind: 'restore.fetch-base-backup'; s3: S3Where; bucket: string; key: string; sha256: string; bytes: number; dataDir: string; owner?: Owner
  /** how the stored tar is compressed (absent: none) */
  compression?: CompressionMethod}

/** Start fetching WAL files into the spool in recovery order, in the background (restore_command reads them). */
export type PrefetchWal = {kind: 'wal.prefetch'; s3: S3Where; bucket: string; prefix: string; cluster: string; names: string[]; spool: string; complete: boolean; owner?: Owner; workers: number}

/** Append the recovery settings block to postgresql.auto.conf and create recovery.signal. */
export type WriteRecoverySettings = {kind: 'pg.recovery-settings'; settings: SideSettings; owner?: Owner}

/** pg_ctl start (not waiting for recovery). */
export type StartPostgres = {kind: 'pg.start'; binDir: string; dataDir: string; logFile: string; owner?: Owner}

/** Wait until the restored server has recovered to its target and been promoted (its own FATAL ends the wait). */
export type AwaitPromoted = {kind: 'pg.await-promoted'; port: number; user: string; database: string; logFile: string; target: string; timeoutMs: number}

/** Check the restored server: the last replayed transaction is not after `notAfter`; --verify-sql holds. */
export type VerifyRestored = {kind: 'pg.verify-restored'; port: number; user: string; database: string; logFile: string; notAfter?: string; verifySql?: string}

/** Mark the side restore complete (its marker file) and drop its WAL spool and runtime (S3 keys). */
export type MarkRestoreComplete = {kind: 'restore.mark-complete'; dataDir: string; spool: string; runtime: string; marker: MarkerInfo}

/** Stop an instance for good and delete its directory, log and spool (a throw-away validation instance). */
export type DestroyInstance = {kind: 'pg.destroy-instance'; binDir: string; dataDir: string; owner?: Owner}

/** One check of the daily backup validation. */
export type ValidateCheck = {id: string; ok: boolean; detail: string; skipped?: boolean}

/**
 * The checks of `backup validate` on the restored instance: WAL continuity (decided when planned),
 * the newest backup's age, archiving on the leader (RPO), pg_amcheck, each --check-sql. Fails
 * when any check fails, with every check's outcome as its result.
 */
export type ValidateChecks = {
  kind: 'backup.validate-checks'
  continuity: {ok: boolean; detail: string}
  newest?: {id: string; finishedAt: string}
  maxBackupAgeMs: number
  rpoSeconds: number
  leader?: {host: string; port: number}
  port: number
  user: string
  database: string
  binDir: string
  checkSql: string[]
}

/** The record of a restore into a cluster, which a re-run continues from (times are added when written). */
export type IntoClusterRecord = {
  id: string
  target: string
  leader: ClusterMember
  replicas: ClusterMember[]
  oldTimeline: number
  restoredDir: string
  oldDir: string
}
export type ClusterMember = {name: string; api: string; host: string; port: number; dataDir: string}
const MemberSchema = z.object({name: z.string(), api: z.string(), host: z.string(), port: z.number().int(), dataDir: z.string()})
/** The state file of a restore into a cluster, as restore.record writes it. */
export const IntoClusterRecordFileSchema = z.looseObject({
  id: z.string(), target: z.string(), leader: MemberSchema, replicas: z.array(MemberSchema), oldTimeline: z.number().int(), restoredDir: z.string(), oldDir: z.string(),
  status: z.enum(['in-progress', 'complete']), startedAt: z.string().optional(), completedAt: z.string().optional(),
})

/** Write (or keep) the in-progress record of a restore into a cluster. */
export type RecordRestore = {kind: 'restore.record'; stateFile: string; record: IntoClusterRecord}

/** Stop the verified side instance, drop its side settings, and queue its new timeline's WAL for the cluster's archiver. */
export type DetachSide = {kind: 'restore.detach-side'; binDir: string; dataDir: string; owner?: Owner}

/** PATCH /config {"pause": ...} and wait until every member reports it. */
export type SetPause = {kind: 'patroni.set-pause'; api: string; members: string[]; pause: boolean; timeoutMs: number; patronictl: {config: string; cluster: string}}

/** Move the leader's data directory aside (kept) and the restored one into its place, with the member's own config files. */
export type SwapDataDir = {kind: 'restore.swap-data-dir'; dataDir: string; oldDir: string; restoredDir: string; memberFiles: string[]; owner?: Owner}

/** POST /restart to a member and wait until it holds the leader lock on a timeline after `afterTimeline`. */
export type RestartAwaitLeader = {kind: 'patroni.restart-await-leader'; api: string; cluster: string; endpoints: string[]; member: string; afterTimeline: number; timeoutMs: number; patronictl: {config: string; cluster: string}}

/** The server takes a write on a timeline after `afterTimeline`; --verify-sql holds. */
export type VerifyWritable = {kind: 'pg.verify-writable'; member: string; host: string; port: number; user: string; database: string; afterTimeline: number; verifySql?: string}

/** POST /reinitialize to each replica, then wait until all stream from `leader` on its timeline. */
export type ReinitReplicas = {kind: 'patroni.reinit-replicas'; cluster: string; endpoints: string[]; leader: string; replicas: {name: string; api: string}[]; timeoutMs: number; patronictl: {config: string; cluster: string}}

/**
 * Wait until these WAL files (timeline history files) are in the archive. A restored instance
 * picks its new timeline as one past the newest history it finds archived: the live cluster's own
 * timeline must be there first, or the restore would reuse its number (two histories, one ID).
 */
export type AwaitArchived = {kind: 'wal.await-archived'; s3: S3Where; bucket: string; keys: string[]; timeoutMs: number}

/** Mark the restore into the cluster complete in its record. */
export type FinishRecord = {kind: 'restore.finish-record'; stateFile: string}

export type RestoreOperation = PrepareRestore | InstallWalRuntime | FetchBaseBackup | PrefetchWal | WriteRecoverySettings | StartPostgres | AwaitPromoted | VerifyRestored
  | MarkRestoreComplete | DestroyInstance | ValidateChecks | AwaitArchived | RecordRestore | DetachSide | SetPause | SwapDataDir | RestartAwaitLeader | VerifyWritable | ReinitReplicas | FinishRecord

export type ReplicaState = {name: string; state?: string; timeline?: number}

export type RestoreOperationResult = {
  'restore.prepare': {cleared: boolean}
  'wal.install-runtime': {dir: string}
  'restore.fetch-base-backup': {bytes: number; sha256: string}
  'wal.prefetch': {files: number}
  'pg.recovery-settings': {file: string}
  'pg.start': {startedAt: string}
  'pg.await-promoted': {promotedAfterMs: number; walFetched?: number; walFailed?: number}
  'pg.verify-restored': {lastTransactionAt?: string; verifySql?: unknown[]}
  'restore.mark-complete': {marker: string}
  'pg.destroy-instance': {removed: string[]}
  'backup.validate-checks': {checks: ValidateCheck[]}
  'restore.record': {stateFile: string}
  'restore.detach-side': {queued: string[]; alreadySwapped: boolean}
  'patroni.set-pause': {paused: boolean}
  'restore.swap-data-dir': {oldDir: string}
  'patroni.restart-await-leader': {timeline: number}
  'pg.verify-writable': {timeline: number; verifySql?: unknown[]}
  'patroni.reinit-replicas': {replicas: ReplicaState[]}
  'restore.finish-record': {completedAt: string}
  'wal.await-archived': {keys: string[]}
}

const pgCtl = (binDir: string, args: string[]) => shellLine([join(binDir, 'pg_ctl'), ...args])
const chown = (o: Owner | undefined, paths: string[], recursive = false) => (o ? `; ${shellLine(['chown', ...(recursive ? ['-R'] : []), `${o.uid}:${o.gid}`, ...paths])}` : '')
const psql = (port: number, user: string, database: string, sql: string[], host = '127.0.0.1') => shellLine(['psql', '-h', host, '-p', String(port), '-U', user, '-d', database, ...sql.flatMap((q) => ['-c', q])])
const patch = (api: string, body: unknown) => shellLine(['curl', '-s', '-XPATCH', `${api}/config`, '-d', JSON.stringify(body)])

export function manualRestore(op: RestoreOperation): string {
  switch (op.kind) {
    case 'restore.prepare':
      return `test ! -e ${shellQuote(op.dataDir)} || test -f ${shellQuote(join(op.dataDir, MARKER))} && { ${pgCtl(op.binDir, ['-D', op.dataDir, 'stop', '-m', 'fast'])} 2>/dev/null; ${shellLine(['rm', '-rf', op.dataDir, op.spool, op.runtime])}; }; `
        + `${shellLine(['mkdir', '-p', '-m', '700', op.restoresRoot, op.dataDir, op.spool])}; echo ${shellQuote(JSON.stringify({status: 'restoring', ...op.marker}))} > ${shellQuote(join(op.dataDir, MARKER))}${chown(op.owner, [op.dataDir, op.spool], true)}`
    case 'wal.install-runtime': {
      const rt = walRuntimeCommand(op.dir)
      return `mkdir -p -m 700 ${shellQuote(op.dir)} && ln -f "$(command -v node)" ${shellQuote(join(op.dir, 'node'))} && cp dist/wal.mjs ${shellQuote(join(op.dir, 'wal-bundle.mjs'))}   # + wal.yaml (s3://${op.bucket}/${op.prefix}, keys in ${join(op.dir, 'secrets')}, mode 600); then: ${rt.prefix} fetch NAME DEST ${rt.suffix}`
    }
    case 'restore.fetch-base-backup':
      return `aws s3 cp ${shellQuote(`s3://${op.bucket}/${op.key}`)} - | tee >(sha256sum >&2)${manualDecompress(op.compression ?? 'none')} | tar -x -C ${shellQuote(op.dataDir)}   # sha256 must be ${op.sha256}${chown(op.owner, [op.dataDir], true)}`
    case 'wal.prefetch':
      return `(for f in ${op.names.slice(0, 3).join(' ')}${op.names.length > 3 ? ` ...(${op.names.length} files in all)` : ''}; do vaultctl wal fetch "$f" ${shellQuote(op.spool)}/"$f"; done; ${op.complete ? `touch ${shellQuote(join(op.spool, '.complete'))}; ` : ''}touch ${shellQuote(join(op.spool, '.done'))}) & PREFETCH_PID=$!`
    case 'pg.recovery-settings': {
      const d = op.settings.dataDir
      return `${shellLine(['rm', '-f', ...['standby.signal', 'postmaster.pid', 'recovery.conf'].map((f) => join(d, f))])}; cat >> ${shellQuote(join(d, 'postgresql.auto.conf'))} <<EOF\n${recoverySettings(op.settings, '$PREFETCH_PID')}EOF\ntouch ${shellQuote(join(d, 'recovery.signal'))}`
    }
    case 'pg.start':
      return pgCtl(op.binDir, ['-D', op.dataDir, '-l', op.logFile, 'start'])
    case 'pg.await-promoted':
      return `tail -f ${shellQuote(op.logFile)}   # until "database system is ready to accept connections" after "selected new timeline ID"; then ${psql(op.port, op.user, op.database, ['select pg_is_in_recovery()'])} says f`
    case 'pg.verify-restored':
      return `grep 'last completed transaction' ${shellQuote(op.logFile)} | tail -1${op.notAfter ? `   # must not be after ${op.notAfter}` : ''}; ${psql(op.port, op.user, op.database, ['select pg_is_in_recovery()', ...(op.verifySql ? [op.verifySql] : [])])}`
    case 'restore.mark-complete':
      return `echo ${shellQuote(JSON.stringify({status: 'complete', ...op.marker}))} > ${shellQuote(join(op.dataDir, MARKER))}; ${shellLine(['rm', '-rf', op.spool, op.runtime])}`
    case 'pg.destroy-instance':
      return `${pgCtl(op.binDir, ['-D', op.dataDir, 'stop', '-m', 'immediate'])}; ${shellLine(['rm', '-rf', op.dataDir, ...Object.values(sidePaths(op.dataDir))])}`
    case 'backup.validate-checks':
      return [
        ...(op.leader ? [`${psql(op.leader.port, op.user, op.database, ['select pg_walfile_name(pg_current_wal_lsn()), last_archived_wal, last_failed_time, last_archived_time from pg_stat_archiver'], op.leader.host)}   # at most the open segment unarchived (RPO ${op.rpoSeconds} s)`] : []),
        shellLine([join(op.binDir, 'pg_amcheck'), '-h', '127.0.0.1', '-p', String(op.port), '-U', op.user, '--all', '--install-missing']),
        ...op.checkSql.map((q) => psql(op.port, op.user, op.database, [q])),
      ].join('; ')
    case 'restore.record':
      return `cat > ${shellQuote(op.stateFile)} <<'EOF'\n${JSON.stringify({status: 'in-progress', ...op.record}, null, 2)}\nEOF`
    case 'restore.detach-side': {
      const d = op.dataDir
      return `${pgCtl(op.binDir, ['-D', d, 'stop', '-m', 'fast'])}; sed -i ${shellQuote(`/^${SETTINGS_HEADER.trim()}/,$d`)} ${shellQuote(join(d, 'postgresql.auto.conf'))}; ${shellLine(['rm', '-f', join(d, 'recovery.signal'), join(d, 'standby.signal')])}; `
        + `# then for the newest timeline's history file and every finished segment of it without a .done: touch ${shellQuote(join(d, 'pg_wal/archive_status'))}/NAME.ready`
    }
    case 'patroni.set-pause':
      return `${patch(op.api, {pause: op.pause})}   # or: ${shellLine(['patronictl', '-c', op.patronictl.config, op.pause ? 'pause' : 'resume', op.patronictl.cluster, '--wait'])}`
    case 'restore.swap-data-dir':
      return `${shellLine(['mv', op.dataDir, op.oldDir])} && ${shellLine(['mv', op.restoredDir, op.dataDir])} && cp ${op.memberFiles.map((f) => shellQuote(join(op.oldDir, f))).join(' ')} ${shellQuote(op.dataDir)}/ && ${shellLine(['rm', '-f', join(op.dataDir, MARKER)])}${chown(op.owner, op.memberFiles.map((f) => join(op.dataDir, f)))}`
    case 'patroni.restart-await-leader':
      return `${shellLine(['curl', '-s', '-XPOST', `${op.api}/restart`, '-d', '{}'])}   # or: ${shellLine(['patronictl', '-c', op.patronictl.config, 'restart', op.patronictl.cluster, op.member, '--force'])}; then until ${op.member} leads on a timeline after ${op.afterTimeline}: ${shellLine(['patronictl', '-c', op.patronictl.config, 'list', op.patronictl.cluster])}`
    case 'pg.verify-writable':
      return `${psql(op.port, op.user, op.database, ['select pg_is_in_recovery(), txid_current()', 'select timeline_id from pg_control_checkpoint()', ...(op.verifySql ? [op.verifySql] : [])], op.host)}   # timeline after ${op.afterTimeline}`
    case 'patroni.reinit-replicas':
      return op.replicas.map((m) => `${shellLine(['curl', '-s', '-XPOST', `${m.api}/reinitialize`, '-d', '{"force": true}'])}   # or: ${shellLine(['patronictl', '-c', op.patronictl.config, 'reinit', op.patronictl.cluster, m.name, '--force'])}`).join('\n')
        + `\n${shellLine(['patronictl', '-c', op.patronictl.config, 'list', op.patronictl.cluster])}   # until every replica streams from ${op.leader}`
    case 'wal.await-archived':
      return `for k in ${op.keys.map(shellQuote).join(' ')}; do until aws s3api head-object --bucket ${shellQuote(op.bucket)} --key "$k" >/dev/null; do sleep 1; done; done`
    case 'restore.finish-record':
      return `sed -i 's/"status": "in-progress"/"status": "complete"/' ${shellQuote(op.stateFile)}`
  }
}
