// HTTP JSON for REST APIs that are the system's own interface (Patroni, Prometheus, etcd), over
// node:http/https so that a server's own CA, a client certificate and basic authentication can be
// given per request (fetch cannot take a CA without a dispatcher from outside Node).
import {TLS_VERIFY_CODE, failure, timedOut, tlsVerifyFailed} from '../errors.js'
import {readPem} from './files.js'

export type HttpResult<T> = {status: number; body: T; text: string}

/** How to reach a server: basic authentication and TLS (PEM file paths). Certificates are verified
 *  unless insecureSkipVerify, which the config only accepts explicitly (and warns about on every run). */
export type HttpAccess = {username?: string; password?: string; caFile?: string; certFile?: string; keyFile?: string; insecureSkipVerify?: boolean}

export async function httpJson<T = unknown>(url: string, opts: {method?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string>; access?: HttpAccess; signal?: AbortSignal} = {}): Promise<HttpResult<T>> {
  const u = new URL(url)
  const a = opts.access ?? {}
  const mod = u.protocol === 'https:' ? await import('node:https') : await import('node:http')
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
  const headers: Record<string, string> = {...(payload === undefined ? {} : {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload))}), ...opts.headers}
  if (a.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`
  const timeoutMs = opts.timeoutMs ?? 3000
  const tls = u.protocol === 'https:'
    ? {...(a.caFile ? {ca: readPem(a.caFile)} : {}), ...(a.certFile ? {cert: readPem(a.certFile)} : {}), ...(a.keyFile ? {key: readPem(a.keyFile)} : {}), rejectUnauthorized: !a.insecureSkipVerify}
    : {}
  return new Promise<HttpResult<T>>((resolve, reject) => {
    let timedOutNow = false
    const req = mod.request(u, {method: opts.method ?? 'GET', headers, ...tls, agent: false}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        clearTimeout(timer)
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = text ? JSON.parse(text) : undefined
        } catch {
          // not JSON: keep the text
        }
        resolve({status: res.statusCode ?? 0, body: body as T, text})
      })
    })
    const timer = setTimeout(() => {
      timedOutNow = true
      req.destroy()
    }, timeoutMs)
    const onAbort = () => req.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'))
    opts.signal?.addEventListener('abort', onAbort, {once: true})
    req.on('error', (error: Error & {code?: string}) => {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      if (timedOutNow) return reject(timedOut('HTTP_TIMEOUT', `${url}: no answer within ${timeoutMs} ms`))
      if (opts.signal?.aborted) return reject(error)
      if (error.code && TLS_VERIFY_CODE.test(error.code)) return reject(tlsVerifyFailed(error as Error & {code: string}, url))
      reject(failure('HTTP_UNREACHABLE', `${url}: ${error.code ?? error.message}`))
    })
    req.end(payload)
  })
}
