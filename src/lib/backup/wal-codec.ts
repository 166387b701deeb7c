// WAL segments as stored in S3: zstd-compressed (a 16 MiB segment of table writes shrinks several
// fold) or as PostgreSQL wrote them. The object's `sha256` metadata is always the checksum of the
// segment itself, so duplicate detection and verification do not depend on how it was stored.
// Readers go by the object's `compression` metadata and, failing that, by the zstd frame magic: an
// archive written before compression (or by hand) reads the same.
import * as zlib from 'node:zlib'
import {failure} from '../errors.js'

export type WalCompression = 'zstd' | 'none'

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]
const isZstdFrame = (b: Uint8Array) => b.length >= 4 && ZSTD_MAGIC.every((v, i) => b[i] === v)

type ZstdZlib = {
  zstdCompressSync(b: Uint8Array, o?: {params?: Record<number, number>}): Buffer
  zstdDecompressSync(b: Uint8Array): Buffer
  constants: Record<string, number>
}
const z = zlib as unknown as Partial<ZstdZlib>
/** Node >= 22.15 / 23.8 has zstd in zlib; on an older Node, WAL is stored uncompressed. */
export const hasZstd = typeof z.zstdCompressSync === 'function'

/** Only segments are worth compressing; history and backup-label files stay readable text. */
const compressible = (name: string) => /^[0-9A-F]{24}(\.partial)?$/.test(name)

/** The bytes to store and the metadata that says how. Level 1: ~1 GB/s on one core, most of zstd's gain on WAL. */
export function encodeWal(name: string, body: Uint8Array, method: WalCompression): {stored: Uint8Array; compression: WalCompression} {
  if (method === 'none' || !compressible(name) || !hasZstd) return {stored: body, compression: 'none'}
  const stored = z.zstdCompressSync!(body, {params: {[z.constants!.ZSTD_c_compressionLevel!]: 1}})
  return {stored, compression: 'zstd'}
}

/** The segment from the stored object. */
export function decodeWal(url: string, stored: Uint8Array, metadata: Record<string, string>): Uint8Array {
  const zstd = metadata.compression === 'zstd' || (metadata.compression === undefined && isZstdFrame(stored))
  if (!zstd) return stored
  if (!hasZstd) throw failure('NODE_ZSTD_MISSING', `${url} is zstd-compressed and this Node (${process.version}) has no zstd`, ['Run vaultctl on Node >= 22.15 (or 23.8+).'])
  try {
    return z.zstdDecompressSync!(stored)
  } catch (error) {
    throw failure('WAL_CORRUPT', `${url}: not a valid zstd frame (${(error as Error).message})`)
  }
}
