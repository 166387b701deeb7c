// pg_basebackup is the interface for base backups: run it with tar output on stdout and hand the
// stream to the caller (no copy on local disk). The password goes through the environment.
import type {Readable} from 'node:stream'
import {childEnvOptions} from './child-env.js'
import {pgTlsEnv} from './postgres.js'

export type BaseBackupRun = {stdout: Readable; done: Promise<{exitCode: number; stderr: string}>}

export async function startBaseBackup(binDir: string | undefined, conn: {host: string; port: number; user: string; password?: string}, label: string): Promise<BaseBackupRun> {
  const {execa} = await import('execa')
  const bin = binDir ? `${binDir.replace(/\/$/, '')}/pg_basebackup` : 'pg_basebackup'
  const child = execa(bin, ['-h', conn.host, '-p', String(conn.port), '-U', conn.user, '-D', '-', '-F', 'tar', '-X', 'fetch',
    '--checkpoint=fast', '--label', label, '--verbose', '--no-password'], {
    ...childEnvOptions({...pgTlsEnv(), PGPASSWORD: conn.password, PGCONNECT_TIMEOUT: '5'}),
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: {stdout: false, stderr: true}, reject: false,
  })
  return {
    stdout: child.stdout as Readable,
    done: child.then((r) => ({exitCode: r.exitCode ?? -1, stderr: String(r.stderr ?? '')})),
  }
}

/** Untar a stream into a directory with tar(1). */
export async function extractTar(stream: NodeJS.ReadableStream, dir: string, user?: {uid: number; gid: number}, signal?: AbortSignal): Promise<void> {
  const {execa} = await import('execa')
  const child = execa('tar', ['-x', '-f', '-', '-C', dir], {stdin: 'pipe', reject: false, ...childEnvOptions(), ...(user ? {uid: user.uid, gid: user.gid} : {})})
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
