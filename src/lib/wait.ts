// The one way vaultctl waits for something: a deadline, a poll interval that backs off, an abort
// signal (Ctrl-C), and on timeout exit 4 naming what was waited for and what was seen last.
import {VaultctlError, failure, timedOut} from './errors.js'

export type Probe<T> = {done: true; value: T} | {done: false; status: string}

export type WaitOptions = {
  /** what is waited for, as the operator reads it: "a writable leader on a new timeline" */
  what: string
  timeoutMs: number
  /** first poll interval (default 100 ms), doubled up to maxIntervalMs (default 1 s) */
  intervalMs?: number
  maxIntervalMs?: number
  signal?: AbortSignal
  /** error code on timeout (default WAIT_TIMEOUT) and what to do then */
  code?: string
  suggestions?: string[]
  /** each status seen while waiting (progress) */
  onStatus?: (status: string, elapsedMs: number) => void
}

const pause = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(done, ms)
  function done() {
    clearTimeout(t)
    signal?.removeEventListener('abort', done)
    resolve()
  }
  signal?.addEventListener('abort', done, {once: true})
})

export async function waitUntil<T>(o: WaitOptions, probe: () => Promise<Probe<T>>): Promise<T> {
  const t0 = Date.now()
  let interval = o.intervalMs ?? 100
  let last = 'nothing seen yet'
  for (;;) {
    if (o.signal?.aborted) throw failure('INTERRUPTED', `interrupted while waiting for ${o.what} (last: ${last})`)
    let r: Probe<T>
    try {
      r = await probe()
    } catch (error) {
      // vaultctl's own errors are verdicts (a refusal seen while waiting): they end the wait.
      if (error instanceof VaultctlError) throw error
      r = {done: false, status: (error as Error).message}
    }
    if (r.done) return r.value
    last = r.status
    o.onStatus?.(last, Date.now() - t0)
    if (Date.now() - t0 >= o.timeoutMs) {
      throw timedOut(o.code ?? 'WAIT_TIMEOUT', `${o.what}: not reached within ${(o.timeoutMs / 1000).toFixed(o.timeoutMs < 10_000 ? 1 : 0)} s (last: ${last})`, o.suggestions ?? [])
    }
    await pause(Math.min(interval, Math.max(0, o.timeoutMs - (Date.now() - t0))), o.signal)
    interval = Math.min(interval * 2, o.maxIntervalMs ?? 1000)
  }
}
