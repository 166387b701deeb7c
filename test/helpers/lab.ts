// Helpers for integration tests against the running lab.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {inject} from 'vitest'
import type {StatusResult} from '../../src/lib/status/collect.js'
import {vaultctl, type CliResult} from './cli.js'

export const labEnv = (dir = inject('labDir')) => ({VAULTCTL_LAB_DIR: dir, VAULTCTL_CONFIG: undefined, VAULTCTL_ENV: undefined, VAULTCTL_AUDIT_FILE: inject('auditFile')})

export const labCli = (args: string[], dir?: string): Promise<CliResult> => vaultctl(args, {env: labEnv(dir)})

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
