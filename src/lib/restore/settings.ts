// What a side restore writes into its data directory, as pure functions of the plan's data: the
// recovery settings block (PostgreSQL 12+: postgresql.auto.conf + recovery.signal) with the
// restore_command that reads the prefetch spool, the marker file, and the parsers of its log.
import {z} from 'zod'
import {join} from 'node:path'
import {shellQuote} from '../shell.js'
import {pgTimestamp} from './target.js'

/** A recovery target as it travels in a plan (a time as an ISO string). */
export type PlannedTarget = {kind: 'time'; time: string} | {kind: 'lsn'; lsn: string} | {kind: 'latest'}

export const MARKER = 'vaultctl-restore.json'
/** The first line of the block vaultctl appends to postgresql.auto.conf. */
export const SETTINGS_HEADER = '# --- vaultctl restore pitr '

/** Where the self-contained `vaultctl wal` for the server lives, and how it is called. */
/** A side restore's own files next to its data directory: log, WAL spool and the restore_command
 *  runtime (which holds copies of the S3 keys: removed when the restore completes or is cleared). */
/** The marker file in a side restore's data directory. */
export const MarkerFileSchema = z.looseObject({status: z.enum(['restoring', 'complete']), id: z.string().optional(), backup: z.string().optional()})

export const sidePaths = (dataDir: string) => ({log: `${dataDir}.log`, spool: `${dataDir}.wal-spool`, runtime: `${dataDir}.wal-runtime`})

export function walRuntimeCommand(runtimeDir: string): {prefix: string; suffix: string} {
  return {prefix: `${shellQuote(join(runtimeDir, 'node'))} ${shellQuote(join(runtimeDir, 'wal.mjs'))}`, suffix: `--config ${shellQuote(join(runtimeDir, 'wal.yaml'))} --env wal`}
}

/**
 * restore_command: WAL prefetched into the spool is copied into place, never moved (PostgreSQL
 * may ask for the same file more than once: it re-reads timeline history files when it picks the
 * recovery target timeline, and every answer must be the same). While the prefetcher (process
 * `prefetcherPid`) runs, wait for a file it has not written yet; once it is done (.done), anything
 * not in the spool is fetched on demand, unless the spool held the whole recovery path
 * (.complete): then the file was not archived when the restore was planned, and the answer is
 * "missing" at once.
 */
export function restoreCommand(spool: string, runtimeDir: string, prefetcherPid: string): string {
  const rt = walRuntimeCommand(runtimeDir)
  // every path quoted (the shell PostgreSQL runs this in must see each as one word, whatever it holds)
  const f = shellQuote(`${spool}/%f`)
  const [done, complete] = [shellQuote(`${spool}/.done`), shellQuote(`${spool}/.complete`)]
  return `while [ ! -f ${f} ] && [ ! -e ${done} ] && [ -d /proc/${prefetcherPid} ]; do sleep 0.05; done; `
    + `if [ -f ${f} ]; then cp ${f} %p; elif [ -e ${complete} ]; then exit 1; else ${rt.prefix} fetch %f %p ${rt.suffix}; fi`
}

export type SideSettings = {id: string; dataDir: string; port: number; target: PlannedTarget; spool: string; runtimeDir: string}

/** The block appended to postgresql.auto.conf: recovery to the target, and a side instance that cannot touch production. */
export function recoverySettings(s: SideSettings, prefetcherPid: string): string {
  // a postgresql.conf string: backslashes are escapes there too (a shell-quoted path holds '\'')
  const q = (v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`
  const lines = [
    `${SETTINGS_HEADER}${s.id}: recovery settings (PostgreSQL 12+: postgresql.auto.conf + recovery.signal) ---`,
    `restore_command = ${q(restoreCommand(s.spool, s.runtimeDir, prefetcherPid))}`,
    ...(s.target.kind === 'time' ? [`recovery_target_time = ${q(pgTimestamp(new Date(s.target.time)))}`] : []),
    ...(s.target.kind === 'lsn' ? [`recovery_target_lsn = ${q(s.target.lsn)}`] : []),
    `recovery_target_action = 'promote'`,
    `recovery_target_timeline = 'latest'`,
    '# a side instance: its own port and files, and it must never archive into the production archive',
    `port = ${s.port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = ''`,
    `archive_mode = 'off'`,
    `archive_command = ''`,
    `primary_conninfo = ''`,
    `primary_slot_name = ''`,
    `hba_file = ${q(join(s.dataDir, 'pg_hba.conf'))}`,
    `ident_file = ${q(join(s.dataDir, 'pg_ident.conf'))}`,
    `cluster_name = ${q(`restore-${s.id}`)}`,
  ]
  return lines.join('\n') + '\n'
}

/** postgresql.auto.conf without the side-instance block vaultctl appended (what was there before stays). */
export function stripRecoverySettings(text: string): string {
  const at = text.indexOf(SETTINGS_HEADER)
  return at < 0 ? text : text.slice(0, at)
}

/** "last completed transaction was at log time 2026-11-26 22:55:00.5+00" -> Date. */
export function lastTransactionTime(log: string): Date | undefined {
  const m = [...log.matchAll(/last completed transaction was at log time ([0-9-]+ [0-9:.]+[+-]\d\d(?::?\d\d)?)/g)].at(-1)
  return m ? new Date(m[1]!.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')) : undefined
}

/** The server's own FATAL in a recovering instance's log (not the ones its connection attempts cause). */
export function serverFatal(log: string): string | undefined {
  return [...log.matchAll(/FATAL:\s+(.*)/g)].map((m) => m[1]!).find((f) => !/the database system is (starting up|not yet accepting connections)|password authentication/.test(f))
}

/**
 * The history file and finished segments of the newest timeline in pg_wal that a server running
 * with archiving off never queued. `current` is the segment its last (shutdown) checkpoint is in,
 * from pg_control: that one is still being written, and so is nothing after it — pg_wal also
 * holds recycled segment files already renamed to future names, so "the newest name" is not the
 * end of WAL (taking it for one archived a half-written segment; seen in the lab).
 */
export function unarchivedOnNewestTimeline(walFiles: string[], current: string): string[] {
  const tlis = walFiles.filter((f) => /^[0-9A-F]{8}\.history$/.test(f)).map((f) => f.slice(0, 8)).sort()
  const tli = tlis.at(-1)
  if (!tli) return []
  const finished = walFiles.filter((f) => /^[0-9A-F]{24}$/.test(f) && f.startsWith(tli) && f.slice(8) < current.slice(8)).sort()
  return [`${tli}.history`, ...finished]
}

/** The first column of the first row of a query's answer. */
export const firstValue = (rows: unknown[]): unknown => (rows[0] ? Object.values(rows[0] as Record<string, unknown>)[0] : undefined)

/** A --verify-sql answer fails on false, 0 or null in its first column. */
export const failsCheck = (v: unknown): boolean => v === false || v === 0 || v === null
