// Prometheus' HTTP API: readiness, instant and range queries (with a bearer token or basic auth
// when the environment gives one), each counted so reports can say how many they sent.
import {failure} from '../errors.js'
import {httpJson} from './http.js'

export async function prometheusReady(url: string): Promise<{ready: boolean; detail: string}> {
  const res = await httpJson(`${url.replace(/\/$/, '')}/-/ready`, {timeoutMs: 2000})
  return {ready: res.status === 200, detail: res.text.trim().slice(0, 120)}
}

export type PromVector = {metric: Record<string, string>; value: [number, string]}[]
export type PromMatrix = {metric: Record<string, string>; values: [number, string][]}[]

/** Where Prometheus is and how to authenticate (secrets already resolved by the caller). */
export type PromConn = {url: string; bearerToken?: string; basic?: {username: string; password: string}; timeoutMs?: number; queries?: {count: number}}

const headers = (c: PromConn): Record<string, string> => c.bearerToken ? {authorization: `Bearer ${c.bearerToken}`}
  : c.basic ? {authorization: `Basic ${Buffer.from(`${c.basic.username}:${c.basic.password}`).toString('base64')}`} : {}

async function api<T>(c: PromConn, path: string, params: Record<string, string>): Promise<T> {
  if (c.queries) c.queries.count++
  const res = await httpJson<{status: string; data: T; error?: string}>(`${c.url.replace(/\/$/, '')}/api/v1/${path}?${new URLSearchParams(params)}`, {timeoutMs: c.timeoutMs ?? 60_000, headers: headers(c)})
  if (res.status === 401 || res.status === 403) throw failure('PROMETHEUS_AUTH', `Prometheus refused the query (HTTP ${res.status})`, ['Check prometheus.bearerTokenFrom or username/passwordFrom in the environment.'])
  if (res.status !== 200 || res.body?.status !== 'success') throw failure('PROMETHEUS_QUERY', `query failed (HTTP ${res.status}): ${res.body?.error ?? res.text.slice(0, 300)}\n  ${params.query}`)
  return res.body.data
}

export async function instantQuery(url: string | PromConn, query: string, time?: Date): Promise<PromVector> {
  const c = typeof url === 'string' ? {url, timeoutMs: 10_000} : url
  const d = await api<{result: PromVector}>(c, 'query', {query, ...(time ? {time: String(time.getTime() / 1000)} : {})})
  return d.result
}

export async function rangeQuery(c: PromConn, query: string, start: Date, end: Date, stepSeconds: number): Promise<PromMatrix> {
  const d = await api<{result: PromMatrix}>(c, 'query_range', {query, start: String(start.getTime() / 1000), end: String(end.getTime() / 1000), step: String(stepSeconds)})
  return d.result
}
