// WAL archiving on the leader, as an operator must see it: a jammed archive_command breaks the
// RPO silently (PostgreSQL keeps retrying and keeps the segments), so it is rated here from
// pg_stat_archiver, the leader's current WAL position and what the archive itself holds.
import type {PgConn} from '../clients/postgres.js'
import {headObject, listObjects, s3Client, type S3Conn} from '../clients/s3.js'
import {divergedPrefix, parseSegmentName, s3Url, walKey, type BackupLocation} from '../backup/layout.js'
import type {Rating} from './types.js'

/** What the leader says about its archiver (pg_stat_archiver) and where it writes WAL. */
export type ArchiverStats = {
  archiveMode: string
  /** WAL file the leader writes now. */
  currentWal: string
  archivedCount: number
  lastArchivedWal: string | null
  lastArchivedAt: string | null
  failedCount: number
  lastFailedWal: string | null
  lastFailedAt: string | null
  /** When the server answered (its clock). */
  now: string
}

/** What the archive holds that bears on the leader's failures, and diverged copies kept. */
export type ArchiveFacts = {
  /** The failing file is already archived (with other content: wal push refuses to overwrite it). */
  failedAlreadyArchived?: boolean
  diverged: {name: string; at?: string}[]
}

export type ArchivingRating = {rating: Rating; state: string; detail: string; facts: Record<string, unknown>}

export async function readArchiverStats(conn: PgConn): Promise<ArchiverStats> {
  const {withPg} = await import('../clients/postgres.js')
  return withPg(conn, async (c) => {
    const r = await c.query<Record<string, string | number | Date | null>>(
      `select current_setting('archive_mode') as archive_mode, pg_walfile_name(pg_current_wal_lsn()) as current_wal,
              archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time, now() as now
         from pg_stat_archiver`)
    const row = r.rows[0]!
    const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v))
    return {
      archiveMode: String(row.archive_mode), currentWal: String(row.current_wal), archivedCount: Number(row.archived_count),
      lastArchivedWal: (row.last_archived_wal as string | null) ?? null, lastArchivedAt: iso(row.last_archived_time),
      failedCount: Number(row.failed_count), lastFailedWal: (row.last_failed_wal as string | null) ?? null, lastFailedAt: iso(row.last_failed_time), now: iso(row.now)!,
    }
  }, 2000)
}

export async function readArchiveFacts(conn: S3Conn, loc: BackupLocation, failedWal: string | null): Promise<ArchiveFacts> {
  const client = await s3Client(conn)
  try {
    const [head, diverged] = await Promise.all([
      failedWal ? headObject(client, loc.bucket, walKey(loc, failedWal)) : Promise.resolve(undefined),
      listObjects(client, loc.bucket, divergedPrefix(loc)),
    ])
    return {failedAlreadyArchived: failedWal ? head !== undefined : undefined,
      diverged: diverged.map((o) => ({name: o.key.slice(divergedPrefix(loc).length), at: o.lastModified?.toISOString()}))}
  } finally {
    client.destroy()
  }
}

/** Segments between the last archived one and the one being written (1 = only the open segment). */
function segmentsBehind(current: string, lastArchived: string | null): number | undefined {
  const cur = parseSegmentName(current)
  // a segment, its .partial or a .backup label name a segment; a history file names none
  const last = lastArchived && /^[0-9A-F]{24}/.test(lastArchived) ? parseSegmentName(lastArchived.slice(0, 24)) : undefined
  if (!cur || !last) return undefined
  return cur.segno - last.segno
}

/**
 * Rate archiving. crit: the last attempt failed (failure newer than the last success), or
 * finished segments have waited longer than the RPO. warn: archiving is off. A quiet server
 * (only its open segment unarchived) is fine however old its last archived segment is.
 */
export function rateArchiving(s: ArchiverStats, a: ArchiveFacts | undefined, rpoSeconds: number, loc?: BackupLocation): ArchivingRating {
  const behind = segmentsBehind(s.currentWal, s.lastArchivedWal)
  const facts: Record<string, unknown> = {...s, segmentsBehind: behind ?? null, diverged: a?.diverged.length ?? null}
  const notes: string[] = []
  if (a?.diverged.length) {
    const newest = [...a.diverged].sort((x, y) => (x.at ?? '').localeCompare(y.at ?? '')).at(-1)!
    notes.push(`${a.diverged.length} diverged cop${a.diverged.length === 1 ? 'y' : 'ies'} from abandoned histories kept beside the archive${loc ? ` (${s3Url(loc, divergedPrefix(loc))})` : ''}, newest ${newest.name}`)
  }
  if (s.archiveMode === 'off') return {rating: 'warn', state: 'off', detail: ['archive_mode is off: no WAL reaches the archive, PITR has no RPO', ...notes].join('; '), facts}
  const failing = s.lastFailedAt !== null && (s.lastArchivedAt === null || s.lastFailedAt > s.lastArchivedAt)
  if (failing) {
    const reason = a?.failedAlreadyArchived
      ? 'it is already archived with different content, and wal push never overwrites a segment of the restorable history (split brain, or two clusters archiving into one location?)'
      : 'archive_command fails (see the leader\'s PostgreSQL log)'
    const since = s.lastArchivedAt ? `last success ${s.lastArchivedAt} (${s.lastArchivedWal})` : 'no success since the statistics were reset'
    return {rating: 'crit', state: 'failing', facts,
      detail: [`archiving is failing on ${s.lastFailedWal}: ${reason}; ${s.failedCount} failure(s), last at ${s.lastFailedAt}; ${since}; ${behind === undefined ? '' : `${behind} segment(s) not archived; `}RPO ${rpoSeconds} s broken`, ...notes].join('; ')}
  }
  const ageSeconds = s.lastArchivedAt ? (Date.parse(s.now) - Date.parse(s.lastArchivedAt)) / 1000 : undefined
  if (behind !== undefined && behind > 1 && (ageSeconds === undefined || ageSeconds > rpoSeconds)) {
    return {rating: 'crit', state: 'behind', facts,
      detail: [`${behind - 1} finished segment(s) not archived; last archived ${s.lastArchivedWal ?? 'none'}${ageSeconds === undefined ? '' : ` ${Math.round(ageSeconds)} s ago`} (RPO ${rpoSeconds} s)`, ...notes].join('; ')}
  }
  const last = s.lastArchivedWal ? `last archived ${s.lastArchivedWal}${ageSeconds === undefined ? '' : ` ${Math.round(ageSeconds)} s ago`}` : 'nothing archived by this leader yet'
  return {rating: 'ok', state: 'archiving', facts,
    detail: [`${last}; writing ${s.currentWal}${behind === 0 ? ' (all finished WAL archived)' : behind === 1 ? ' (only the open segment unarchived)' : ''}${s.failedCount ? `; ${s.failedCount} earlier failure(s), last ${s.lastFailedAt}` : ''}`, ...notes].join('; ')}
}
