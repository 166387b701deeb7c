// pg_basebackup is the interface for base backups: run it with tar output on stdout and hand the
// stream to the caller (no copy on local disk). The password goes through the environment.
import type {Readable} from 'node:stream'
import {childEnvOptions} from './child-env.js'
import {pgTlsEnv} from './postgres.js'
import {failure} from '../errors.js'
import type {CompressionMethod} from '../backup/compression.js'
import {which} from '../lab/binaries.js'


export type BaseBackupRun = {stdout: Readable; done: Promise<{exitCode: number; stderr: string}>}

export async function startBaseBackup(binDir: string | undefined, conn: {host: string; port: number; user: string; password?: string}, label: string, extraArgs: string[] = []): Promise<BaseBackupRun> {
  const {execa} = await import('execa')
  const bin = binDir ? `${binDir.replace(/\/$/, '')}/pg_basebackup` : 'pg_basebackup'
  const child = execa(bin, ['-h', conn.host, '-p', String(conn.port), '-U', conn.user, '-D', '-', '-F', 'tar', '-X', 'fetch',
    '--checkpoint=fast', '--label', label, '--verbose', '--no-password', ...extraArgs], {
    ...childEnvOptions({...pgTlsEnv(), PGPASSWORD: conn.password, PGCONNECT_TIMEOUT: '5'}),
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: {stdout: false, stderr: true}, reject: false,
  })
  return {
    stdout: child.stdout as Readable,
    done: child.then((r) => ({exitCode: r.exitCode ?? -1, stderr: String(r.stderr ?? '')})),
  }
}

/**
 * Untar a stream into a directory with tar(1). Compressed tars are decompressed by tar through
 * zstd(1) / lz4(1): only the compressed bytes pass through this process, and the decompressed ones
 * go from one C program to the other (2.0 s instead of 2.7 s for 1.1 GB here). Without zstd(1),
 * zstd is decompressed in this process (node:zlib); lz4 needs lz4(1).
 */
export async function extractTar(stream: NodeJS.ReadableStream, dir: string, user?: {uid: number; gid: number}, signal?: AbortSignal, compression: CompressionMethod = 'none'): Promise<void> {
  const {execa} = await import('execa')
  const external = compression !== 'none' && which(compression) !== undefined
  if (compression === 'zstd' && !external) {
    const zlib = await import('node:zlib') as unknown as {createZstdDecompress?: (o?: {chunkSize?: number}) => NodeJS.ReadWriteStream}
    if (!zlib.createZstdDecompress) throw failure('NODE_ZSTD_MISSING', `the base backup is zstd-compressed and this Node (${process.version}) has no zstd`, ['Run vaultctl on Node >= 22.15 (or 23.8+).'])
    const raw = stream
    // 1 MiB output chunks: with the default 16 KiB, the hops to zlib's threads made it 3x slower (5.2 s -> 1.8 s for 1.1 GB)
    const z = zlib.createZstdDecompress({chunkSize: 1024 * 1024})
    raw.on('error', (e) => (z as unknown as {destroy(e: Error): void}).destroy(e as Error))
    stream = raw.pipe(z)
  }
  if (compression === 'lz4' && !external) throw failure('LZ4_MISSING', 'the base backup is lz4-compressed and lz4(1) is not installed here', ['Install lz4 (apt-get install lz4), or take backups with zstd.'])
  const child = execa('tar', ['-x', ...(external ? [`--use-compress-program=${compression}`] : []), '-f', '-', '-C', dir], {stdin: 'pipe', reject: false, ...childEnvOptions(), ...(user ? {uid: user.uid, gid: user.gid} : {})})
  // tar waits for the end of its input: when the download fails or the run is interrupted, stop it.
  const stop = () => child.kill('SIGTERM')
  stream.on('error', stop)
  signal?.addEventListener('abort', stop, {once: true})
  stream.pipe(child.stdin!)
  const r = await child
  signal?.removeEventListener('abort', stop)
  if (signal?.aborted) throw new Error(`interrupted while extracting into ${dir}`)
  if (r.exitCode !== 0) throw new Error(`tar -x into ${dir} failed (exit ${r.exitCode}): ${String(r.stderr).slice(-300)}`)
}
