// pg_ctl is the interface to start and stop a restored PostgreSQL instance.
import {childEnvOptions} from './child-env.js'
import {pgTlsEnv} from './postgres.js'

export type OsUser = {uid: number; gid: number}

async function pgctl(binDir: string, args: string[], user?: OsUser, timeoutMs = 60_000): Promise<{exitCode: number; output: string}> {
  const {execa} = await import('execa')
  const r = await execa(`${binDir.replace(/\/$/, '')}/pg_ctl`, args, {reject: false, timeout: timeoutMs, stdin: 'ignore', ...childEnvOptions(), ...(user ? {uid: user.uid, gid: user.gid} : {}), cwd: '/'})
  return {exitCode: r.exitCode ?? -1, output: `${String(r.stdout ?? '')}\n${String(r.stderr ?? '')}`.trim()}
}

/** Start without waiting (recovery may take long; the caller watches it). */
export async function pgStart(binDir: string, dataDir: string, logFile: string, user?: OsUser): Promise<void> {
  const r = await pgctl(binDir, ['-D', dataDir, '-l', logFile, '-W', 'start'], user)
  if (r.exitCode !== 0) throw new Error(`pg_ctl start failed (exit ${r.exitCode}): ${r.output.slice(-300)}`)
}

export async function pgStop(binDir: string, dataDir: string, user?: OsUser): Promise<void> {
  const r = await pgctl(binDir, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], user)
  if (r.exitCode !== 0 && !/is not running|No such file|does not exist/i.test(r.output)) throw new Error(`pg_ctl stop failed (exit ${r.exitCode}): ${r.output.slice(-300)}`)
}

/** pg_amcheck over every database of an instance (installing the amcheck extension where missing). */
export async function pgAmcheck(binDir: string, conn: {port: number; user: string; password?: string}): Promise<{ok: boolean; output: string; available: boolean}> {
  const {execa} = await import('execa')
  const bin = `${binDir.replace(/\/$/, '')}/pg_amcheck`
  const r = await execa(bin, ['-h', '127.0.0.1', '-p', String(conn.port), '-U', conn.user, '--all', '--install-missing', '--no-password'], {
    reject: false, stdin: 'ignore', ...childEnvOptions({...pgTlsEnv(), PGPASSWORD: conn.password}),
  })
  if ((r as {code?: string}).code === 'ENOENT') return {ok: true, output: 'pg_amcheck not installed', available: false}
  return {ok: r.exitCode === 0, output: `${String(r.stdout ?? '')}${String(r.stderr ?? '')}`.trim().slice(-500), available: true}
}

/** pg_controldata's "Name: value" lines for a data directory (undefined when it cannot be read). */
export async function pgControlData(binDir: string, dataDir: string): Promise<Record<string, string> | undefined> {
  const {execa} = await import('execa')
  const r = await execa(`${binDir.replace(/\/$/, '')}/pg_controldata`, ['-D', dataDir], {reject: false, stdin: 'ignore', ...childEnvOptions({LC_ALL: 'C'})})
  if (r.exitCode !== 0) return undefined
  return Object.fromEntries(String(r.stdout).split('\n').map((l) => /^([^:]+):\s+(.*)$/.exec(l)).filter((m) => m !== null).map((m) => [m[1]!.trim(), m[2]!.trim()]))
}

/**
 * Stop a server for good, even one still starting up (its pid file may not be written yet):
 * immediate shutdown, then wait for the postmaster to be gone, SIGKILL after 10 s. For throw-away
 * instances, before their directory is deleted (deleting under a live postmaster leaves debris).
 */
export async function pgStopHard(binDir: string, dataDir: string, user?: OsUser): Promise<void> {
  const {existsSync, readFileSync} = await import('node:fs')
  const pidOf = () => {
    try {
      return Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]) || undefined
    } catch {
      return undefined
    }
  }
  const {alive} = await import('./process.js')
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  for (let i = 0; i < 20 && pidOf() === undefined && existsSync(`${dataDir}/PG_VERSION`); i++) await sleep(100)
  const pid = pidOf()
  await pgctl(binDir, ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], user, 30_000).catch(() => undefined)
  if (pid === undefined) return
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100)
  if (alive(pid)) process.kill(pid, 'SIGKILL')
}
