// The true end of a time-restorable window: PostgreSQL stops before the first transaction after
// the target, so a target is reachable only if the archive holds a transaction after it. The
// archive time of the last segment overstates that; pg_waldump reads the actual last commit.
import {removePath, withTempDir} from '../clients/files.js'
import {join} from 'node:path'
import {lastCommitInSegment} from '../clients/waldump.js'
import type {S3Conn} from '../clients/s3.js'
import {fetchWal} from './wal.js'
import type {BackupLocation} from './layout.js'
import {chainSegments, withCommitTimes, type BackupWindow, type History, type Window} from './window.js'

/** Walk back along a recovery path (segment names, oldest first; at most `max`) to its last commit. */
export async function lastArchivedCommit(binDir: string, conn: S3Conn, loc: BackupLocation, chain: string[], max = 16): Promise<Date | undefined> {
  return withTempDir('vaultctl-waldump-', async (dir) => {
    for (const name of chain.slice(-max).reverse()) {
      const r = await fetchWal(conn, loc, name, join(dir, name))
      if (r.outcome !== 'fetched') continue
      const t = await lastCommitInSegment(binDir, dir, name)
      removePath(join(dir, name))
      if (t) return t
    }
    return undefined
  })
}

/**
 * The window as restore checks it: every backup window ends just before the last commit on its
 * recovery path. Windows that share their last segment (the usual case) are read once.
 */
export async function windowWithCommits(binDir: string, conn: S3Conn, loc: BackupLocation, w: Window, histories: History[]): Promise<Window> {
  const commits = new Map<string, Date | undefined>()
  for (const b of w.backups) {
    if (commits.has(b.lastSegment)) continue
    commits.set(b.lastSegment, await lastArchivedCommit(binDir, conn, loc, chainSegments(w, histories, b, b.fromLsn)))
  }
  return withCommitTimes(w, (b: BackupWindow) => {
    const c = commits.get(b.lastSegment)
    // A commit before the backup's end is no use to it (the walk back may reach behind it).
    return c && c >= new Date(b.from) ? c : undefined
  })
}
