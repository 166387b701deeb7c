import {describe, expect, it} from 'vitest'
import {decodeWal, encodeWal, hasZstd} from '../../src/lib/backup/wal-codec.js'
import {compressArgs, baseFileName} from '../../src/lib/backup/compression.js'

// A segment-like body: a page header magic, then table rows that repeat (as WAL of inserts does).
const segment = () => {
  const b = Buffer.alloc(16 * 1024 * 1024)
  b.writeUInt16LE(0xd110, 0)
  for (let i = 64; i < b.length - 100; i += 100) b.write(`row ${i % 9973} ${'x'.repeat(60)}`, i)
  return b
}

describe.skipIf(!hasZstd)('WAL segments stored compressed', () => {
  it('compresses segments several-fold and reads them back byte for byte', () => {
    const body = segment()
    const enc = encodeWal('000000010000000000000003', body, 'zstd')
    expect(enc.compression).toBe('zstd')
    expect(enc.stored.length).toBeLessThan(body.length / 4)
    expect(Buffer.from(decodeWal('s3://b/k', enc.stored, {compression: 'zstd'})).equals(body)).toBe(true)
    // no metadata (copied by hand, or metadata lost): the zstd frame magic decides
    expect(Buffer.from(decodeWal('s3://b/k', enc.stored, {})).equals(body)).toBe(true)
  })
  it('leaves history and backup label files, and walCompression none, as they are', () => {
    const text = Buffer.from('1\t0/3000000\tno recovery target specified\n')
    expect(encodeWal('00000002.history', text, 'zstd')).toEqual({stored: text, compression: 'none'})
    expect(encodeWal('000000010000000000000003', segment(), 'none').compression).toBe('none')
    expect(encodeWal('000000010000000000000003.partial', segment(), 'zstd').compression).toBe('zstd')
  })
  it('reads an archive written before compression unchanged, and names a damaged frame', () => {
    const body = segment()
    expect(decodeWal('s3://b/k', body, {sha256: 'x'})).toBe(body)
    const enc = encodeWal('000000010000000000000003', body, 'zstd')
    const broken = Buffer.from(enc.stored.subarray(0, 1000))
    expect(() => decodeWal('s3://b/k', broken, {compression: 'zstd'})).toThrow(/s3:\/\/b\/k: not a valid zstd frame/)
  })
})

describe('base backup compression arguments', () => {
  it('server-side compression, without the manifest pg_basebackup cannot inject into a compressed tar', () => {
    expect(compressArgs({method: 'zstd'})).toEqual(['--compress=server-zstd:level=3', '--no-manifest'])
    expect(compressArgs({method: 'zstd', level: 1, workers: 4})).toEqual(['--compress=server-zstd:level=1,workers=4', '--no-manifest'])
    expect(compressArgs({method: 'lz4', workers: 4})).toEqual(['--compress=server-lz4:level=1', '--no-manifest'])
    expect(compressArgs({method: 'none'})).toEqual([])
    expect([baseFileName('zstd'), baseFileName('lz4'), baseFileName('none'), baseFileName()]).toEqual(['base.tar.zst', 'base.tar.lz4', 'base.tar', 'base.tar'])
  })
})

describe('the lab\'s archive_command step, by hand', () => {
  it('prints curl with the lab CA and the REST user, the password as a variable', async () => {
    const {manual} = await import('../../src/lib/plan/operations.js')
    const text = manual({kind: 'patroni.archive-command', apis: ['https://127.0.0.1:14008'], archiveCommand: 'x %p', rest: {username: 'vaultctl', caFile: '/lab dir/tls/ca.crt'}})
    expect(text).toBe(`curl -s --cacert '/lab dir/tls/ca.crt' -u vaultctl:"$PATRONI_REST_PASSWORD" -XPOST https://127.0.0.1:14008/reload; curl -s --cacert '/lab dir/tls/ca.crt' -u vaultctl:"$PATRONI_REST_PASSWORD" -XPATCH https://127.0.0.1:14008/config -d '{"postgresql":{"parameters":{"archive_command":"x %p"}}}'`)
  })
})
