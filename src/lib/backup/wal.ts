// archive_command and restore_command: one WAL file to or from S3, checksummed and idempotent.
// A file already archived with the same SHA-256 is success (PostgreSQL retries after crashes);
// one archived with different content is an error, never overwritten.
import {createHash} from 'node:crypto'
import {readFile, rename, rm, writeFile} from 'node:fs/promises'
import {basename} from 'node:path'
import {getObjectBytes, headObject, putObject, s3Client, type S3Conn} from '../clients/s3.js'
import {failure, usageError} from '../errors.js'
import {isWalFileName, s3Url, walKey, type BackupLocation} from './layout.js'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

export type WalResult = {name: string; url: string; outcome: 'archived' | 'already-archived' | 'fetched' | 'missing'; bytes: number; sha256?: string}

export async function pushWal(conn: S3Conn, loc: BackupLocation, path: string): Promise<WalResult> {
  const name = basename(path)
  if (!isWalFileName(name)) throw usageError('NOT_A_WAL_FILE', `${name} is not a WAL segment, history or backup label file name`)
  const body = await readFile(path)
  const sum = sha256(body)
  const client = await s3Client(conn)
  try {
    const key = walKey(loc, name)
    const existing = await headObject(client, loc.bucket, key)
    if (existing) {
      if (existing.metadata.sha256 === sum) return {name, url: s3Url(loc, key), outcome: 'already-archived', bytes: body.length, sha256: sum}
      throw failure('WAL_CONFLICT', `${name} is already archived at ${s3Url(loc, key)} with different content (sha256 ${existing.metadata.sha256 ?? 'unknown'}, local ${sum})`,
        ['Two clusters may be archiving into the same location, or the archive holds a file from an earlier timeline history. Do not delete it blindly: compare both copies first.'])
    }
    await putObject(client, loc.bucket, key, body, {sha256: sum})
    return {name, url: s3Url(loc, key), outcome: 'archived', bytes: body.length, sha256: sum}
  } finally {
    client.destroy()
  }
}

export async function fetchWal(conn: S3Conn, loc: BackupLocation, name: string, dest: string): Promise<WalResult> {
  if (!isWalFileName(name)) throw usageError('NOT_A_WAL_FILE', `${name} is not a WAL file name`)
  const client = await s3Client(conn)
  try {
    const key = walKey(loc, name)
    const obj = await getObjectBytes(client, loc.bucket, key)
    if (!obj) return {name, url: s3Url(loc, key), outcome: 'missing', bytes: 0}
    const sum = sha256(obj.body)
    if (obj.metadata.sha256 && obj.metadata.sha256 !== sum) {
      throw failure('WAL_CORRUPT', `${s3Url(loc, key)}: content sha256 ${sum} does not match the archived checksum ${obj.metadata.sha256}`)
    }
    // Write beside the destination and rename: PostgreSQL must never see a partial segment.
    const tmp = `${dest}.vaultctl-partial`
    try {
      await writeFile(tmp, obj.body)
      await rename(tmp, dest)
    } catch (error) {
      await rm(tmp, {force: true})
      throw error
    }
    return {name, url: s3Url(loc, key), outcome: 'fetched', bytes: obj.body.length, sha256: sum}
  } finally {
    client.destroy()
  }
}
