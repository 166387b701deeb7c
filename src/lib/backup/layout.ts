// Where a cluster's backups live in S3, and the arithmetic of WAL names and LSNs.
//   s3://BUCKET/PREFIX/CLUSTER/wal/<segment or .history>        one object per archived file
//   s3://BUCKET/PREFIX/CLUSTER/base/<backup id>/base.tar[.zst|.lz4]  pg_basebackup tar (WAL included), compressed on the server
//   s3://BUCKET/PREFIX/CLUSTER/base/<backup id>/manifest.json    written last: a backup exists once its manifest does

import type {BaseFileName} from './compression.js'

export type BackupLocation = {bucket: string; prefix: string; cluster: string}

export const clusterPrefix = (l: BackupLocation) => root(l)
/** Written by `backup prune`: the first WAL segment it keeps, so that the window reads what it removed as pruned, not as gaps. */
export const retentionKey = (l: BackupLocation) => `${root(l)}retention.json`
const root = (l: BackupLocation) => `${l.prefix.replace(/^\/+/, '').replace(/\/?$/, '/')}${l.cluster}/`
export const walPrefix = (l: BackupLocation) => `${root(l)}wal/`
export const walKey = (l: BackupLocation, name: string) => `${walPrefix(l)}${name}`
/** Copies of WAL files from abandoned histories that differed from the archived ones (kept, never used by restore). */
export const divergedPrefix = (l: BackupLocation) => `${root(l)}wal-diverged/`
export const divergedKey = (l: BackupLocation, name: string, sha256: string) => `${divergedPrefix(l)}${name}.${sha256.slice(0, 16)}`
export const basePrefix = (l: BackupLocation) => `${root(l)}base/`
export const backupKey = (l: BackupLocation, id: string, file: BaseFileName | 'manifest.json') => `${basePrefix(l)}${id}/${file}`
export const s3Url = (l: BackupLocation, key: string) => `s3://${l.bucket}/${key}`

export const SEGMENT_SIZE = 16 * 1024 * 1024
const SEGMENTS_PER_XLOGID = 0x1_0000_0000 / SEGMENT_SIZE

/** 000000010000000000000003 -> {timeline 1, segment number 3}. */
export function parseSegmentName(name: string): {timeline: number; segno: number} | undefined {
  const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/.exec(name)
  if (!m) return undefined
  return {timeline: parseInt(m[1]!, 16), segno: parseInt(m[2]!, 16) * SEGMENTS_PER_XLOGID + parseInt(m[3]!, 16)}
}

export function segmentName(timeline: number, segno: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0')
  return hex(timeline) + hex(Math.floor(segno / SEGMENTS_PER_XLOGID)) + hex(segno % SEGMENTS_PER_XLOGID)
}

/** "0/3000028" -> bytes. */
export function parseLsn(lsn: string): number {
  const [hi, lo] = lsn.split('/')
  return parseInt(hi!, 16) * 0x1_0000_0000 + parseInt(lo!, 16)
}

export const formatLsn = (n: number) => `${Math.floor(n / 0x1_0000_0000).toString(16).toUpperCase()}/${(n % 0x1_0000_0000).toString(16).toUpperCase()}`

export const segnoOf = (lsn: number) => Math.floor(lsn / SEGMENT_SIZE)

export const isWalFileName = (name: string) => /^[0-9A-F]{24}(\.partial)?$|^[0-9A-F]{8}\.history$|^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/.test(name)
