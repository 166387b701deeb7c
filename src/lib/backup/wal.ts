// archive_command and restore_command: one WAL file to or from S3, checksummed and idempotent.
// A file already archived with the same SHA-256 is success (PostgreSQL retries after crashes).
// One archived with different content is never overwritten. If the file is part of the
// restorable history (a restore along the newest timeline would read it) that is an error: two
// servers wrote the same stretch of history (split brain, or two clusters in one location). If
// it belongs to an abandoned history (a timeline past the point where a newer one left it, e.g.
// a copy a rewound member kept), this server's copy is stored beside the archive under
// wal-diverged/ and the push succeeds, so archiving does not jam on it.
import {createHash} from 'node:crypto'
import {listDir, readBytes, readText, writeAtomic} from '../clients/files.js'
import {basename, dirname, join} from 'node:path'
import type {S3Client} from '../clients/s3.js'
import {getObjectBytes, headObject, putObject, putObjectIfAbsent, s3Client, type S3Conn} from '../clients/s3.js'
import {failure, usageError} from '../errors.js'
import {divergedKey, isWalFileName, s3Url, walKey, type BackupLocation} from './layout.js'
import {latestHistory, onRestorablePath, parseHistory, type History} from './window.js'
import {decodeWal, encodeWal, type WalCompression} from './wal-codec.js'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

export type WalResult = {
  name: string
  url: string
  outcome: 'archived' | 'already-archived' | 'diverged' | 'fetched' | 'missing'
  bytes: number
  /** bytes in S3 (smaller than `bytes` when compressed) */
  storedBytes?: number
  compression?: WalCompression
  sha256?: string
  /** outcome 'diverged': where this server's copy was kept, and why it is not the archived one. */
  divergedUrl?: string
  detail?: string
}

/** History files in the server's pg_wal (where %p points): its own timeline's ancestry. */
function localHistories(walDir: string): History[] {
  return listDir(walDir, /^[0-9A-F]{8}\.history$/).map((f) => parseHistory(parseInt(f.slice(0, 8), 16), readText(join(walDir, f)) ?? ''))
}

/**
 * The newest timeline's history, as PostgreSQL finds it: from the newest one this server knows,
 * probe the archive for the next timeline IDs until one is missing.
 */
async function newestHistory(client: S3Client, loc: BackupLocation, walDir: string): Promise<History> {
  let newest = latestHistory(localHistories(walDir))
  for (let tli = newest.tli + 1; ; tli++) {
    const name = `${tli.toString(16).toUpperCase().padStart(8, '0')}.history`
    const obj = await getObjectBytes(client, loc.bucket, walKey(loc, name))
    if (!obj) return newest
    newest = parseHistory(tli, Buffer.from(obj.body).toString('utf8'))
  }
}

export async function pushWal(conn: S3Conn, loc: BackupLocation, path: string, compression: WalCompression = 'zstd'): Promise<WalResult> {
  const name = basename(path)
  if (!isWalFileName(name)) throw usageError('NOT_A_WAL_FILE', `${name} is not a WAL segment, history or backup label file name`)
  const body = await readBytes(path)
  const sum = sha256(body)
  const enc = encodeWal(name, body, compression)
  const meta = {sha256: sum, ...(enc.compression === 'none' ? {} : {compression: enc.compression})}
  const client = await s3Client(conn)
  try {
    const key = walKey(loc, name)
    const url = s3Url(loc, key)
    let existing = await headObject(client, loc.bucket, key)
    if (!existing) {
      // a conditional write: two pushers of the same name cannot both "archive" it (the loser compares below)
      if (await putObjectIfAbsent(client, loc.bucket, key, enc.stored, meta) !== 'exists') {
        return {name, url, outcome: 'archived', bytes: body.length, storedBytes: enc.stored.length, compression: enc.compression, sha256: sum}
      }
      existing = await headObject(client, loc.bucket, key)
      if (!existing) throw failure('WAL_RACE', `${name}: S3 said it exists, then that it does not: re-run`, ['Another process is writing this segment right now; PostgreSQL retries archive_command by itself.'])
    }
    if (existing.metadata.sha256 === sum) return {name, url, outcome: 'already-archived', bytes: body.length, sha256: sum}
    const latest = await newestHistory(client, loc, dirname(path))
    if (onRestorablePath(name, latest)) {
      throw failure('WAL_CONFLICT', `${name} is already archived at ${url} with different content (sha256 ${existing.metadata.sha256 ?? 'unknown'}, local ${sum}), and it is part of the restorable history (timeline ${latest.tli}'s): refusing to overwrite it`,
        ['Two servers wrote the same stretch of history: a split brain, or two clusters archiving into one location. Compare both copies (pg_waldump) before anything is removed; `vaultctl status` shows archiving as failing until this is resolved.'])
    }
    const kept = divergedKey(loc, name, sum)
    await putObject(client, loc.bucket, kept, enc.stored, {...meta, 'archived-sha256': existing.metadata.sha256 ?? 'unknown', 'newest-timeline': String(latest.tli)})
    const detail = `${name} differs from the archived copy but belongs to an abandoned history (not on timeline ${latest.tli}'s path): the archived copy is kept, this server's copy is stored at ${s3Url(loc, kept)}`
    return {name, url, outcome: 'diverged', bytes: body.length, sha256: sum, divergedUrl: s3Url(loc, kept), detail}
  } finally {
    client.destroy()
  }
}

/** `client`: one the caller keeps for many files (the restore's prefetcher); else one for this call. */
export async function fetchWal(conn: S3Conn, loc: BackupLocation, name: string, dest: string, client?: S3Client): Promise<WalResult> {
  if (!isWalFileName(name)) throw usageError('NOT_A_WAL_FILE', `${name} is not a WAL file name`)
  const c = client ?? await s3Client(conn)
  try {
    const key = walKey(loc, name)
    const url = s3Url(loc, key)
    const obj = await getObjectBytes(c, loc.bucket, key)
    if (!obj) return {name, url, outcome: 'missing', bytes: 0}
    const body = decodeWal(url, obj.body, obj.metadata)
    const sum = sha256(body)
    if (obj.metadata.sha256 && obj.metadata.sha256 !== sum) {
      throw failure('WAL_CORRUPT', `${url}: content sha256 ${sum} does not match the archived checksum ${obj.metadata.sha256}`)
    }
    // PostgreSQL must never see a partial segment.
    await writeAtomic(dest, body)
    return {name, url, outcome: 'fetched', bytes: body.length, storedBytes: obj.body.length, compression: body === obj.body ? 'none' : 'zstd', sha256: sum}
  } finally {
    if (!client) c.destroy()
  }
}
