// One JSON line per executed plan: who, where, what (secrets removed), the plan itself (its steps
// and their operations) and how each step ended. Append-only (mode 600), and tamper-evident: each
// record holds the hash of the one before it and its own hash, so that `vaultctl audit verify`
// finds an edited, inserted or deleted record. Appends take a lock file so that two vaultctl
// processes cannot fork the chain. Pure except for the file helpers at the end.
import {createHash} from 'node:crypto'
import {appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {dirname} from 'node:path'
import {z} from 'zod'
import {redact, redactArgv} from '../config/secrets.js'
import {failure, usageError} from '../errors.js'
import type {ExecutionResult, PlanData} from './types.js'

export const AUDIT_VERSION = 2

/** The plan as recorded: its steps with their operations (what ran), not only its hash. */
export type AuditPlan = Pick<PlanData, 'summary' | 'hash' | 'typed' | 'counts'> & {
  observed?: Record<string, unknown>
  preconditions: string[]
  steps: {id: string; title: string; risk: string; manual?: string; op?: unknown}[]
}

export type AuditRecord = {
  v: number
  /** 1 for the first chained record of the file, then +1 */
  seq: number
  /** hash of the previous record ('' for the first) */
  prev: string
  time: string
  user: string
  host: string
  env: string
  command: string
  argv: string[]
  planHash: string
  plan?: AuditPlan
  status: ExecutionResult['status']
  durationMs: number
  steps: {id: string; status: string; durationMs: number; error?: string}[]
  next?: string
  /** sha256 of this record's JSON without this field */
  hash: string
}

/** Records written before the chain (v1): read and listed, reported by verify as unchained. */
const RecordSchema = z.looseObject({
  v: z.number().int().optional(),
  seq: z.number().int().positive().optional(),
  prev: z.string().optional(),
  time: z.iso.datetime({offset: true}),
  user: z.string(),
  host: z.string(),
  env: z.string(),
  command: z.string(),
  argv: z.array(z.string()),
  planHash: z.string(),
  status: z.enum(['succeeded', 'failed', 'refused', 'interrupted']),
  durationMs: z.number(),
  steps: z.array(z.looseObject({id: z.string(), status: z.string(), durationMs: z.number(), error: z.string().optional()})),
  hash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
})
/** A record as read: a chained one, or one written before the chain (no v, seq, prev, hash, plan). */
export type ReadRecord = Omit<AuditRecord, 'v' | 'seq' | 'prev' | 'hash'> & Partial<Pick<AuditRecord, 'v' | 'seq' | 'prev' | 'hash'>>

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The hash a record must carry: over its JSON (keys in written order) without `hash`. */
export function recordHash(rec: Record<string, unknown>): string {
  const {hash: _ignored, ...rest} = rec
  return sha256(JSON.stringify(rest))
}

function auditPlan(data: PlanData): AuditPlan {
  const plan: AuditPlan = {
    summary: data.summary, hash: data.hash, typed: data.typed, counts: data.counts,
    ...(data.observed ? {observed: data.observed} : {}),
    preconditions: data.preconditions.map((p) => p.description),
    steps: data.steps.map((s) => ({id: s.id, title: s.title, risk: s.risk, ...(s.manual ? {manual: s.manual} : {}), ...(s.op ? {op: s.op} : {})})),
  }
  // Operations carry no secrets by design; anything vaultctl has read as one is starred anyway.
  return JSON.parse(redact(JSON.stringify(plan))) as AuditPlan
}

function whoAmI(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'unknown' // no passwd entry (containers)
  }
}

/** The record's content; `chain` links it (seq, prev, hash) when it is appended. */
export function auditRecord(result: ExecutionResult, argv: string[], plan?: PlanData, now = new Date()): Omit<AuditRecord, 'v' | 'seq' | 'prev' | 'hash'> {
  return {
    time: now.toISOString(),
    user: whoAmI(),
    host: hostname(),
    env: result.env,
    command: result.command,
    argv: redactArgv(argv),
    planHash: result.planHash,
    ...(plan ? {plan: auditPlan(plan)} : {}),
    status: result.status,
    durationMs: result.durationMs,
    steps: result.steps.map((s) => ({id: s.id, status: s.status, durationMs: s.durationMs, ...(s.error ? {error: redact(s.error)} : {})})),
    ...(result.next ? {next: redact(result.next)} : {}),
  }
}

export function chain(body: Omit<AuditRecord, 'v' | 'seq' | 'prev' | 'hash'>, last: {seq: number; hash: string} | undefined): AuditRecord {
  const linked = {v: AUDIT_VERSION, seq: (last?.seq ?? 0) + 1, prev: last?.hash ?? '', ...body}
  return {...linked, hash: recordHash(linked)}
}

export type VerifyProblem = {line: number; seq?: number; problem: 'edited' | 'deleted-before' | 'inserted' | 'not-json' | 'not-a-record' | 'unchained-after-chained'; detail: string}

export type VerifyReport = {records: number; chained: number; unchained: number; ok: boolean; problems: VerifyProblem[]; head?: {seq: number; hash: string}}

/** Walk the chain: each record's hash, its link to the one before, its sequence number. */
export function verifyChain(text: string): VerifyReport {
  const problems: VerifyProblem[] = []
  let prev: {seq: number; hash: string} | undefined
  let records = 0
  let chained = 0
  let unchained = 0
  let lastUnchained: string | undefined
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return
    records++
    const n = i + 1
    let raw: unknown
    try {
      raw = JSON.parse(line)
    } catch {
      problems.push({line: n, problem: 'not-json', detail: 'not a JSON line (vaultctl appends whole lines only)'})
      return
    }
    const parsed = RecordSchema.safeParse(raw)
    if (!parsed.success) {
      problems.push({line: n, problem: 'not-a-record', detail: parsed.error.issues.map((x) => `${x.path.join('.') || '(record)'}: ${x.message}`).join('; ')})
      return
    }
    const r = parsed.data
    if (r.hash === undefined || r.seq === undefined || r.prev === undefined) {
      unchained++
      lastUnchained = line
      if (prev) problems.push({line: n, problem: 'unchained-after-chained', detail: 'a record without a hash after the chain began: inserted by hand'})
      return
    }
    chained++
    const want = recordHash(raw as Record<string, unknown>)
    if (want !== r.hash) problems.push({line: n, seq: r.seq, problem: 'edited', detail: `its content does not match its hash (${r.hash.slice(0, 12)}...; content hashes to ${want.slice(0, 12)}...)`})
    if (prev && r.prev !== prev.hash) {
      problems.push(r.seq > prev.seq + 1
        ? {line: n, seq: r.seq, problem: 'deleted-before', detail: `records ${prev.seq + 1}..${r.seq - 1} are missing before it`}
        : {line: n, seq: r.seq, problem: 'inserted', detail: `it does not follow record ${prev.seq} (prev ${r.prev.slice(0, 12)}..., expected ${prev.hash.slice(0, 12)}...)`})
    } else if (!prev && r.prev !== (lastUnchained === undefined ? '' : sha256(lastUnchained))) {
      problems.push({line: n, seq: r.seq, problem: 'deleted-before', detail: lastUnchained === undefined ? `the file starts at record ${r.seq}: records before it were removed` : 'it does not follow the unchained record before it'})
    } else if (prev && r.seq !== prev.seq + 1) {
      problems.push({line: n, seq: r.seq, problem: 'inserted', detail: `sequence ${r.seq} after ${prev.seq}`})
    }
    prev = {seq: r.seq, hash: r.hash}
  })
  return {records, chained, unchained, ok: problems.length === 0, problems, ...(prev ? {head: prev} : {})}
}

// --- the file ---

/** The last non-empty line of a file, reading only its tail. */
function lastLine(file: string): string | undefined {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    let chunk = 64 * 1024
    for (;;) {
      const start = Math.max(0, size - chunk)
      const buf = Buffer.alloc(size - start)
      readSync(fd, buf, 0, buf.length, start)
      const lines = buf.toString('utf8').split('\n').filter((l) => l.trim())
      // A whole last line: there is a newline before it, or the read began at the file's start.
      if (start === 0 || lines.length > 1) return lines.at(-1)
      chunk *= 4
    }
  } finally {
    closeSync(fd)
  }
}

function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), {flag: 'wx', mode: 0o600})
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      let holder: number
      let age: number
      try {
        holder = Number(readFileSync(lock, 'utf8').trim())
        age = Date.now() - statSync(lock).mtimeMs
      } catch {
        continue // released meanwhile
      }
      // Just created, pid not written yet: held. A holder that died (kill -9) leaves its pid.
      let alive = !(holder > 0) && age < 5000
      if (holder > 0) {
        try {
          process.kill(holder, 0)
          alive = true
        } catch (error) {
          alive = (error as NodeJS.ErrnoException).code === 'EPERM'
        }
      }
      if (!alive) rmSync(lock, {force: true})
      else if (Date.now() > deadline) throw failure('AUDIT_LOCKED', `${lock} is held by pid ${holder}`, ['Wait for that vaultctl to finish, or remove the lock file if that process is not vaultctl.'])
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, {force: true})
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Append a record linked to the file's last one; returns it as written. */
export function appendAudit(file: string, body: Omit<AuditRecord, 'v' | 'seq' | 'prev' | 'hash'>): AuditRecord {
  mkdirSync(dirname(file), {recursive: true, mode: 0o700})
  return withLock(file, () => {
    let last: {seq: number; hash: string} | undefined
    const line = existsSync(file) ? lastLine(file) : undefined
    if (line) {
      // After a broken or unchained last line the chain goes on from it as found (verify says so).
      const r = RecordSchema.safeParse(parseOrUndefined(line))
      last = r.success && r.data.hash && r.data.seq ? {seq: r.data.seq, hash: r.data.hash} : {seq: 0, hash: sha256(line)}
    }
    const rec = chain(body, last)
    appendFileSync(file, JSON.stringify(rec) + '\n', {mode: 0o600})
    return rec
  })
}

export function readAudit(file: string, since?: Date): ReadRecord[] {
  if (!existsSync(file)) return []
  const out: ReadRecord[] = []
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return
    let rec: ReadRecord
    try {
      rec = RecordSchema.parse(JSON.parse(line)) as ReadRecord
    } catch {
      throw usageError('AUDIT_CORRUPT', `${file}:${i + 1} is not a vaultctl audit record`, ['Inspect the file (vaultctl only appends whole lines to it); `vaultctl audit verify` says which records were changed.'])
    }
    if (!since || new Date(rec.time) >= since) out.push(rec)
  })
  return out
}
