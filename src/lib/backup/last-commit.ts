// The true end of a time-restorable window: PostgreSQL stops before the first transaction after
// the target, so a target is reachable only if the archive holds a transaction after it. The
// archive time of the last segment overstates that; pg_waldump reads the actual last commit.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {lastCommitInSegment} from '../clients/waldump.js'
import type {S3Conn} from '../clients/s3.js'
import {fetchWal} from './wal.js'
import {parseSegmentName, segmentName, type BackupLocation} from './layout.js'

/** Walk back from the last archived segment (at most `max` segments) to the last commit. */
export async function lastArchivedCommit(binDir: string, conn: S3Conn, loc: BackupLocation, lastSegment: string, firstSegno: number, max = 8): Promise<Date | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'vaultctl-waldump-'))
  try {
    const last = parseSegmentName(lastSegment)!
    for (let segno = last.segno; segno >= Math.max(firstSegno, last.segno - max + 1); segno--) {
      // a segment earlier than a timeline switch is named for its own timeline: try both
      for (const tli of [last.timeline, last.timeline - 1].filter((t) => t > 0)) {
        const name = segmentName(tli, segno)
        const r = await fetchWal(conn, loc, name, join(dir, name))
        if (r.outcome !== 'fetched') continue
        const t = await lastCommitInSegment(binDir, dir, name)
        if (t) return t
        break
      }
    }
    return undefined
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
