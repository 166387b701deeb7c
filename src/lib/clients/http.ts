// Plain HTTP JSON for REST APIs that are the system's own interface (Patroni, Prometheus, etcd).
import {failure, timedOut} from '../errors.js'

export type HttpResult<T> = {status: number; body: T; text: string}

export async function httpJson<T = unknown>(url: string, opts: {method?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string>} = {}): Promise<HttpResult<T>> {
  let res: Response
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers: {...(opts.body === undefined ? {} : {'content-type': 'application/json'}), ...opts.headers},
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
    })
  } catch (error) {
    const e = error as Error & {cause?: {code?: string}}
    if (e.name === 'TimeoutError') throw timedOut('HTTP_TIMEOUT', `${url}: no answer within ${opts.timeoutMs ?? 3000} ms`)
    throw failure('HTTP_UNREACHABLE', `${url}: ${e.cause?.code ?? e.message}`)
  }
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: keep the text
  }
  return {status: res.status, body: body as T, text}
}
