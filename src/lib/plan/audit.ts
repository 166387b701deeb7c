// One JSON line per executed plan: who, where, what (secrets removed), the plan hash, and how
// each step ended. Append-only; the file is created with mode 600.
import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {dirname} from 'node:path'
import {redact, redactArgv} from '../config/secrets.js'
import {usageError} from '../errors.js'
import type {ExecutionResult} from './types.js'

export type AuditRecord = {
  time: string
  user: string
  host: string
  env: string
  command: string
  argv: string[]
  planHash: string
  status: ExecutionResult['status']
  durationMs: number
  steps: {id: string; status: string; durationMs: number; error?: string}[]
}

export function auditRecord(result: ExecutionResult, argv: string[], now = new Date()): AuditRecord {
  let user = process.env.USER ?? 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return {
    time: now.toISOString(),
    user,
    host: hostname(),
    env: result.env,
    command: result.command,
    argv: redactArgv(argv),
    planHash: result.planHash,
    status: result.status,
    durationMs: result.durationMs,
    steps: result.steps.map((s) => ({id: s.id, status: s.status, durationMs: s.durationMs, ...(s.error ? {error: redact(s.error)} : {})})),
  }
}

export function appendAudit(file: string, record: AuditRecord): void {
  mkdirSync(dirname(file), {recursive: true, mode: 0o700})
  appendFileSync(file, JSON.stringify(record) + '\n', {mode: 0o600})
}

export function readAudit(file: string, since?: Date): AuditRecord[] {
  if (!existsSync(file)) return []
  const out: AuditRecord[] = []
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return
    let rec: AuditRecord
    try {
      rec = JSON.parse(line) as AuditRecord
    } catch {
      throw usageError('AUDIT_CORRUPT', `${file}:${i + 1} is not a JSON audit record`, ['Inspect the file; vaultctl only appends whole lines to it.'])
    }
    if (!since || new Date(rec.time) >= since) out.push(rec)
  })
  return out
}
