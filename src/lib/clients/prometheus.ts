// Prometheus' HTTP API.
import {httpJson} from './http.js'

export async function prometheusReady(url: string): Promise<{ready: boolean; detail: string}> {
  const res = await httpJson(`${url.replace(/\/$/, '')}/-/ready`, {timeoutMs: 2000})
  return {ready: res.status === 200, detail: res.text.trim().slice(0, 120)}
}

export type PromVector = {metric: Record<string, string>; value: [number, string]}[]

export async function instantQuery(url: string, query: string, time?: Date): Promise<PromVector> {
  const q = new URLSearchParams({query, ...(time ? {time: String(time.getTime() / 1000)} : {})})
  const res = await httpJson<{status: string; data: {resultType: string; result: PromVector}; error?: string}>(`${url.replace(/\/$/, '')}/api/v1/query?${q}`, {timeoutMs: 10_000})
  if (res.status !== 200 || res.body?.status !== 'success') throw new Error(`query ${query} failed: ${res.body?.error ?? res.text.slice(0, 200)}`)
  return res.body.data.result
}
