// Helpers for integration tests against the running lab.
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {parse, stringify} from 'yaml'
import {join} from 'node:path'
import {inject, onTestFailed} from 'vitest'
import type {StatusResult} from '../../src/lib/status/collect.js'
import {vaultctl, type CliResult} from './cli.js'
import {setPatroniAccess} from '../../src/lib/clients/patroni.js'
import {setPgTls} from '../../src/lib/clients/postgres.js'
import {setRedisAccess} from '../../src/lib/clients/redis.js'

export const labEnv = (dir = inject('labDir')) => ({VAULTCTL_LAB_DIR: dir, VAULTCTL_CONFIG: undefined, VAULTCTL_ENV: undefined, VAULTCTL_AUDIT_FILE: inject('auditFile')})

export const labCli = (args: string[], dir?: string, env: Record<string, string> = {}): Promise<CliResult> => vaultctl(args, {env: {...labEnv(dir), ...env}})

export async function status(args: string[] = [], dir?: string): Promise<{code: number; res: StatusResult}> {
  const r = await labCli(['status', '--json', ...args], dir)
  return {code: r.code, res: r.json<StatusResult>()}
}

export const rows = (res: StatusResult, component: string) => res.components.find((c) => c.component === component)?.rows ?? []

export function pidOf(service: string, dir = inject('labDir')): number {
  return Number(readFileSync(join(dir, 'run', `${service}.pid`), 'utf8').split('\n')[0])
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Poll until fn returns true (or throw after timeoutMs). */
export async function eventually(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await fn()) return
    await sleep(500)
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
}

export function labPorts(dir = inject('labDir')): Record<string, number> {
  return (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as {ports: Record<string, number>}).ports
}

export function labSecret(name: string, dir = inject('labDir')): string {
  return readFileSync(join(dir, 'secrets', name), 'utf8').trim()
}

export function labLayoutJson(dir = inject('labDir')): {pgRoot: string; ports: Record<string, number>} {
  return JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as {pgRoot: string; ports: Record<string, number>}
}

/** The postmaster of a lab PostgreSQL member (pg-1..3). */
export function postmasterPid(member: string, dir = inject('labDir')): number {
  return Number(readFileSync(join(labLayoutJson(dir).pgRoot, member, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
}

/** A child of `parent` whose command line matches (e.g. the checkpointer or the startup process). */
export function childPid(parent: number, match: RegExp): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent && match.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '))) return Number(pid)
    } catch {
      // gone
    }
  }
  throw new Error(`no child of ${parent} matches ${match}`)
}

export function pgConn(member: string, dir = inject('labDir')) {
  const port = labLayoutJson(dir).ports[`postgres-${member.split('-')[1]}`]!
  return {host: '127.0.0.1', port, user: 'postgres', password: labSecret('postgres-superuser', dir), database: 'postgres'}
}

export const patroniApi = (member: string, dir = inject('labDir')) => `https://127.0.0.1:${labLayoutJson(dir).ports[`patroni-${member.split('-')[1]}`]}`

/** The tests reach the lab's Patroni (HTTPS, password) and PostgreSQL (TLS, verify-full) as vaultctl does. */
export function useLabAccessInTests(dir = inject('labDir')): void {
  setPatroniAccess(() => ({username: 'vaultctl', password: labSecret('patroni-rest', dir), caFile: join(dir, 'tls', 'ca.crt')}))
  setPgTls({sslmode: 'verify-full', rootCertFile: join(dir, 'tls', 'ca.crt')})
  setRedisAccess({tls: {caFile: join(dir, 'tls', 'ca.crt')}})
}
// The integration project's lab (the kubernetes project provides its own lab under another key).
if (inject('labDir')) useLabAccessInTests()

/** A config file with the lab's environment copied as a protected one named `prodlike`. */
export function protectedLabConfig(dir = inject('labDir')): string {
  const doc = parse(readFileSync(join(dir, 'vaultctl.yaml'), 'utf8')) as {environments: Record<string, Record<string, unknown>>}
  doc.environments.prodlike = {...doc.environments.lab, protected: true, description: 'the lab, marked protected'}
  const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-prot-')), 'vaultctl.yaml')
  writeFileSync(file, stringify(doc))
  return file
}

/** After a failed test: `lab up` starts again whatever the test stopped, so that the files after it do not fail for it. */
export const labUpIfFailed = (dir?: string) => onTestFailed(async () => {
  const r = await labCli(['lab', 'up'], dir)
  console.warn(`a failed test left the lab to heal: lab up exited ${r.code}`)
})

/**
 * An into-cluster restore of this lab's cluster that a failed test left unfinished (the cluster
 * paused, replicas stopped) is finished the documented way, the same command again, so that the
 * files after it find a working cluster. Does nothing when every restore completed.
 */
export async function finishIntoClusterRestores(dir = inject('labDir')): Promise<void> {
  const root = '/var/lib/postgresql/vaultctl-restores'
  const apis = new Set(['patroni-1', 'patroni-2', 'patroni-3'].map((s) => `https://127.0.0.1:${labPorts(dir)[s]}`))
  for (const f of existsSync(root) ? readdirSync(root).filter((x) => x.endsWith('.into-cluster.json')) : []) {
    const rec = JSON.parse(readFileSync(join(root, f), 'utf8')) as {status?: string; target: string; leader: {api: string}}
    if (rec.status === 'complete' || !apis.has(rec.leader.api)) continue
    const time = /^time (\S+) \(UTC\)$/.exec(rec.target)?.[1]
    const lsn = /^LSN (\S+)$/.exec(rec.target)?.[1]
    const r = await labCli(['restore', 'pitr', '--into', 'cluster', ...(time ? ['--target-time', time] : lsn ? ['--target-lsn', lsn] : ['--latest']), '--yes'], dir)
    console.warn(`a failed test left the restore to ${rec.target} unfinished: the same command again exited ${r.code}${r.code ? `\n${r.stderr}` : ''}`)
  }
}
