// The one wait helper: deadline, backoff, abort, and exit 4 naming what was waited for.
import {describe, expect, it} from 'vitest'
import {VaultctlError, refusal} from '../../src/lib/errors.js'
import {waitUntil} from '../../src/lib/wait.js'

const rejection = async (p: Promise<unknown>) => p.then(() => { throw new Error('resolved') }, (e: unknown) => e as VaultctlError)

describe('waitUntil', () => {
  it('returns the value as soon as the probe is done, polling with backoff', async () => {
    let n = 0
    const seen: string[] = []
    const v = await waitUntil({what: 'three tries', timeoutMs: 5000, intervalMs: 5, onStatus: (s) => seen.push(s)}, async () => (++n < 3 ? {done: false, status: `try ${n}`} : {done: true, value: n}))
    expect(v).toBe(3)
    expect(seen).toEqual(['try 1', 'try 2'])
  })
  it('times out with exit 4, naming what it waited for and what it saw last', async () => {
    const e = await rejection(waitUntil({what: 'a writable leader', timeoutMs: 50, intervalMs: 10, code: 'X_TIMEOUT', suggestions: ['look first']}, async () => ({done: false, status: 'pg-1 still leads'})))
    expect(e).toBeInstanceOf(VaultctlError)
    expect(e.exit).toBe(4)
    expect(e.code).toBe('X_TIMEOUT')
    expect(e.message).toMatch(/a writable leader: not reached within 0\.1 s \(last: pg-1 still leads\)/)
    expect(e.suggestions).toEqual(['look first'])
  })
  it('treats a thrown error as a status, but a vaultctl error as the verdict', async () => {
    let n = 0
    expect(await waitUntil({what: 'x', timeoutMs: 1000, intervalMs: 1}, async () => {
      if (++n === 1) throw new Error('connection refused')
      return {done: true, value: 'ok'}
    })).toBe('ok')
    const e = await rejection(waitUntil({what: 'x', timeoutMs: 1000, intervalMs: 1}, async () => {
      throw refusal('PATRONI_REFUSED', 'Patroni answered 412')
    }))
    expect(e.code).toBe('PATRONI_REFUSED')
  })
  it('stops at once when aborted (Ctrl-C), saying so', async () => {
    const c = new AbortController()
    setTimeout(() => c.abort(), 30)
    const t0 = Date.now()
    const e = await rejection(waitUntil({what: 'replicas', timeoutMs: 60_000, intervalMs: 10_000, signal: c.signal}, async () => ({done: false, status: 'pg-2 starting'})))
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(e.code).toBe('INTERRUPTED')
    expect(e.message).toMatch(/interrupted while waiting for replicas \(last: pg-2 starting\)/)
  })
})
