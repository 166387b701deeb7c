// Base backups compressed on the database server by pg_basebackup (PostgreSQL 15+,
// `--compress=server-zstd|server-lz4`): only compressed bytes cross the network and reach S3, and
// the SHA-256 is of what is stored. Restores decompress between the checksum and tar.
export type CompressionMethod = 'zstd' | 'lz4' | 'none'
export type BaseCompression = {method: CompressionMethod; level?: number; workers?: number}

const EXT: Record<CompressionMethod, string> = {zstd: '.zst', lz4: '.lz4', none: ''}

/** The object name of a base backup: base.tar, base.tar.zst or base.tar.lz4. */
export const baseFileName = (method: CompressionMethod = 'none') => `base.tar${EXT[method]}` as BaseFileName
export type BaseFileName = 'base.tar' | 'base.tar.zst' | 'base.tar.lz4'

export const defaultLevel = (m: CompressionMethod) => (m === 'zstd' ? 3 : m === 'lz4' ? 1 : undefined)

/**
 * pg_basebackup's arguments for it. A compressed tar on standard output cannot carry the backup
 * manifest pg_basebackup injects, so it is left out (vaultctl's own manifest and SHA-256 stand).
 */
export function compressArgs(c: BaseCompression): string[] {
  if (c.method === 'none') return []
  const level = c.level ?? defaultLevel(c.method)
  const detail = [`level=${level}`, ...(c.method === 'zstd' && c.workers ? [`workers=${c.workers}`] : [])].join(',')
  return [`--compress=server-${c.method}:${detail}`, '--no-manifest']
}

/** How an operator decompresses it by hand, as a pipe stage ('' for none). */
export const manualDecompress = (m: CompressionMethod) => (m === 'zstd' ? ' | zstd -dc' : m === 'lz4' ? ' | lz4 -dc' : '')

export const describeCompression = (c: BaseCompression) => (c.method === 'none' ? 'uncompressed' : `${c.method} level ${c.level ?? defaultLevel(c.method)}${c.method === 'zstd' && c.workers ? `, ${c.workers} workers` : ''} (on the server)`)
