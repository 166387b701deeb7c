// Starting and stopping the lab's daemons: detached children with a pid file each, so that
// `lab down` stops exactly what `lab up` started (checked against /proc, not just the number).
import {spawn} from 'node:child_process'
import {closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {createConnection} from 'node:net'
import {userInfo} from 'node:os'
import {childEnv} from './child-env.js'
import {registerSecret} from '../config/secrets.js'

export type SpawnSpec = {
  command: string
  args: string[]
  cwd?: string
  env?: Record<string, string>
  /** Environment variables read from files at start (secrets: never in argv or the plan). */
  envFromFiles?: Record<string, string>
  logFile: string
  pidFile: string
  /** Run as this user (when we are root; PostgreSQL refuses to run as root). */
  user?: {uid: number; gid: number}
}

/** A secret a daemon gets in its environment: registered for redaction like every secret read. */
function secretFromFile(file: string): string {
  const v = readFileSync(file, 'utf8').trim()
  registerSecret(v)
  return v
}

export function spawnDaemon(spec: SpawnSpec): number {
  const log = openSync(spec.logFile, 'a')
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      // Only what the daemon needs (its secrets from their files), and the mark that finds it
      // again when a kill -9 of vaultctl came between this spawn and the pid file.
      env: childEnv({...spec.env, ...Object.fromEntries(Object.entries(spec.envFromFiles ?? {}).map(([k, f]) => [k, secretFromFile(f)])), [LAB_MARK]: spec.pidFile}),
      detached: true,
      stdio: ['ignore', log, log],
      ...(spec.user ? {uid: spec.user.uid, gid: spec.user.gid} : {}),
    })
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`)
    child.unref()
    writeFileSync(spec.pidFile, `${child.pid}\n${spec.command}\n`)
    return child.pid
  } finally {
    closeSync(log)
  }
}

/** In the environment of every lab daemon: the pid file it belongs to. */
export const LAB_MARK = 'VAULTCTL_LAB_PIDFILE'

const ppidOf = (pid: number): number | undefined => {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1])
  } catch {
    return undefined
  }
}

const link = (path: string): string | undefined => {
  try {
    return readlinkSync(path)
  } catch {
    return undefined
  }
}

/** A live daemon started for this pid file whose pid was never written (vaultctl was killed right
 *  after the spawn): the topmost process carrying the mark (Patroni's postgres children carry it
 *  too). redis-server overwrites its environment with its process title: it is found by its
 *  program and working directory (it changes into its own --dir, which `cwd` names). */
export function findOrphan(spec: Pick<SpawnSpec, 'pidFile' | 'command' | 'cwd'>): number | undefined {
  const mark = `${LAB_MARK}=${spec.pidFile}`
  // Debian's redis-server is a link to redis-check-rdb: compare the programs themselves.
  let program = spec.command
  try {
    program = realpathSync(spec.command)
  } catch {
    // not a path: no match by program
  }
  const marked = new Set<number>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const byCwd = spec.cwd !== undefined && link(`/proc/${d}/cwd`) === spec.cwd && link(`/proc/${d}/exe`) === program
      if ((byCwd || readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(mark)) && alive(Number(d))) marked.add(Number(d))
    } catch {
      // gone, or not ours to read
    }
  }
  const top = [...marked].filter((p) => !marked.has(ppidOf(p) ?? -1))
  return top.length === 1 ? top[0] : undefined
}

/** Adopt such an orphan: write its pid file so that status and `lab down` see it. */
export function adoptOrphan(spec: Pick<SpawnSpec, 'pidFile' | 'command' | 'cwd'>): number | undefined {
  const pid = findOrphan(spec)
  if (pid !== undefined) writeFileSync(spec.pidFile, `${pid}\n${spec.command}\n`)
  return pid
}

/** The pid in the file, if that process is alive and still runs the command we started. */
export function runningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const [pidText, command] = readFileSync(pidFile, 'utf8').split('\n')
  const pid = Number(pidText)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    // Interpreters (python3 patroni) put the script second; redis-server rewrites its title.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ')
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    if (/\) Z /.test(stat)) return undefined
    const base = (command ?? '').split('/').pop() ?? ''
    if (base && !cmdline.includes(base)) return undefined
    return pid
  } catch {
    return undefined
  }
}

/** Is this pid alive (and not a zombie)? Right after spawn the child may not have exec'd yet, so
 *  its command line is still ours: use this, not runningPid, for a process we just started. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL. Removes the pid file. */
export async function stopDaemon(spec: Pick<SpawnSpec, 'pidFile' | 'command' | 'cwd'>, timeoutMs = 15_000): Promise<'stopped' | 'killed' | 'not-running'> {
  const pidFile = spec.pidFile
  if (runningPid(pidFile) === undefined) adoptOrphan(spec)
  const pid = runningPid(pidFile)
  if (pid === undefined) {
    rmSync(pidFile, {force: true})
    return 'not-running'
  }
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    // gone already
  }
  const {waitUntil} = await import('../wait.js')
  const stopped = await waitUntil({what: `${pidFile} gone`, timeoutMs, intervalMs: 100, maxIntervalMs: 100},
    async () => (runningPid(pidFile) === undefined ? {done: true, value: true} : {done: false, status: `pid ${pid} still running`})).catch(() => false)
  if (stopped) {
    rmSync(pidFile, {force: true})
    return 'stopped'
  }
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  rmSync(pidFile, {force: true})
  return 'killed'
}

/** Is something accepting TCP connections on 127.0.0.1:port? */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({port, host})
    s.setTimeout(500)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('timeout', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', () => resolve(false))
  })
}

/** uid/gid of a system user, from /etc/passwd. */
export function lookupUser(name: string): {uid: number; gid: number; home: string} | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))
    if (!line) return undefined
    const f = line.split(':')
    return {uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/'}
  } catch {
    return undefined
  }
}

export const isRoot = (): boolean => userInfo().uid === 0

/** Which program holds a TCP port (best effort, from /proc/net/tcp + /proc/<pid>/fd). */
export function whoListens(port: number): string | undefined {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0')
    const inodes = new Set<string>()
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (!existsSync(f)) continue
      for (const l of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const c = l.trim().split(/\s+/)
        if (c[1]?.endsWith(`:${hex}`) && c[3] === '0A') inodes.add(c[9]!)
      }
    }
    if (inodes.size === 0) return undefined
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          const m = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
          if (m && inodes.has(m[1]!)) return `pid ${pid} (${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()})`
        }
      } catch {
        // not ours to read
      }
    }
    return 'another process'
  } catch {
    return undefined
  }
}
