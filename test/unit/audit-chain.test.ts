// The audit log's hash chain: each way of tampering with the file is found, and concurrent
// appends (separate processes) keep one chain.
import {spawn} from 'node:child_process'
import {appendFileSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {appendAudit, recordHash, verifyChain, type AuditRecord} from '../../src/lib/plan/audit.js'

const body = (n: number): Omit<AuditRecord, 'v' | 'seq' | 'prev' | 'hash'> => ({
  time: new Date(Date.UTC(2026, 10, 27, 12, 0, n)).toISOString(), user: 'ops', host: 'h', env: 'prod', command: 'failover postgres',
  argv: ['failover:postgres', '--to', `pg-${n}`], planHash: `p${n}`, status: 'succeeded', durationMs: n, steps: [{id: 'switchover', status: 'succeeded', durationMs: n}],
  plan: {summary: `switch to pg-${n}`, hash: `p${n}`, typed: true, counts: {read: 1, write: 1, destructive: 0}, preconditions: ['a leader'],
    steps: [{id: 'switchover', title: 'switchover', risk: 'write', op: {kind: 'patroni.request', method: 'POST', path: '/switchover', body: {candidate: `pg-${n}`}}}]},
})

function logWith(n: number): {file: string; lines: () => string[]} {
  const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-audit-')), 'audit.jsonl')
  for (let i = 1; i <= n; i++) appendAudit(file, body(i))
  return {file, lines: () => readFileSync(file, 'utf8').trim().split('\n')}
}

describe('audit chain', () => {
  it('links each record to the one before, holds the plan\'s operations, and verifies', () => {
    const {file, lines} = logWith(4)
    const recs = lines().map((l) => JSON.parse(l) as AuditRecord)
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3, 4])
    expect(recs[0]!.prev).toBe('')
    for (let i = 1; i < 4; i++) expect(recs[i]!.prev).toBe(recs[i - 1]!.hash)
    for (const r of recs) expect(recordHash(r as unknown as Record<string, unknown>)).toBe(r.hash)
    expect(recs[2]!.plan?.steps[0]?.op).toEqual({kind: 'patroni.request', method: 'POST', path: '/switchover', body: {candidate: 'pg-3'}})
    expect(verifyChain(readFileSync(file, 'utf8'))).toMatchObject({ok: true, records: 4, chained: 4, problems: [], head: {seq: 4, hash: recs[3]!.hash}})
  })

  it('an edited record (even one field of its plan) is found', () => {
    const {lines} = logWith(4)
    const l = lines()
    l[1] = l[1]!.replace('"candidate":"pg-2"', '"candidate":"pg-9"')
    const r = verifyChain(l.join('\n'))
    expect(r.ok).toBe(false)
    expect(r.problems).toEqual([expect.objectContaining({line: 2, seq: 2, problem: 'edited'})])
  })

  it('an edited record whose hash was recomputed breaks the link of the next one', () => {
    const {lines} = logWith(4)
    const l = lines()
    const rec = JSON.parse(l[1]!) as AuditRecord
    rec.status = 'failed'
    rec.hash = recordHash(rec as unknown as Record<string, unknown>)
    l[1] = JSON.stringify(rec)
    const r = verifyChain(l.join('\n'))
    expect(r.problems).toEqual([expect.objectContaining({line: 3, seq: 3, problem: 'inserted'})])
  })

  it('a deleted record in the middle, and records deleted from the start, are found', () => {
    const {lines} = logWith(5)
    const l = lines()
    expect(verifyChain([l[0], l[1], l[3], l[4]].join('\n')).problems).toEqual([expect.objectContaining({line: 3, seq: 4, problem: 'deleted-before', detail: 'records 3..3 are missing before it'})])
    expect(verifyChain(l.slice(2).join('\n')).problems).toEqual([expect.objectContaining({line: 1, seq: 3, problem: 'deleted-before'})])
  })

  it('a line that is not a record, and an unchained record after the chain began, are found', () => {
    const {lines} = logWith(2)
    const l = lines()
    expect(verifyChain([l[0], '{oops', l[1]].join('\n')).problems.map((p) => p.problem)).toEqual(['not-json'])
    const {hash: _h, seq: _s, prev: _p, v: _v, ...old} = JSON.parse(l[1]!) as AuditRecord
    expect(verifyChain([l[0], JSON.stringify(old), l[1]].join('\n')).problems.map((p) => p.problem)).toEqual(['unchained-after-chained'])
  })

  it('records from before the chain (no hash) are counted, and the chain starts from the last of them', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-audit-')), 'audit.jsonl')
    const {hash: _h, seq: _s, prev: _p, v: _v, ...old} = {...body(0), hash: '', seq: 0, prev: '', v: 1}
    writeFileSync(file, JSON.stringify(old) + '\n')
    appendAudit(file, body(1))
    appendAudit(file, body(2))
    expect(verifyChain(readFileSync(file, 'utf8'))).toMatchObject({ok: true, records: 3, chained: 2, unchained: 1})
    // replacing the old record is found too: the first chained record names its hash
    const l = readFileSync(file, 'utf8').trim().split('\n')
    l[0] = l[0]!.replace('"ops"', '"eve"')
    expect(verifyChain(l.join('\n')).problems.map((p) => p.problem)).toEqual(['deleted-before'])
  })

  it('appends from 8 processes at once keep one chain (the lock)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-audit-')), 'audit.jsonl')
    appendFileSync(file, '')
    // the built module, as vaultctl runs it
    const src = new URL('../../dist/lib/plan/audit.js', import.meta.url).pathname
    const script = `import {appendAudit} from ${JSON.stringify(src)}; for (let i = 0; i < 5; i++) appendAudit(process.argv[1], ${JSON.stringify(body(1))})`
    await Promise.all(Array.from({length: 8}, () => new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script, file], {stdio: ['ignore', 'ignore', 'pipe']})
      let err = ''
      c.stderr.on('data', (d) => (err += d))
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(err))))
    })))
    const r = verifyChain(readFileSync(file, 'utf8'))
    expect(r).toMatchObject({ok: true, records: 40, chained: 40, head: {seq: 40}})
  })
})
