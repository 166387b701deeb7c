// Patroni's REST API (GET /cluster and friends). Both the 3.x (master/running) and 4.x
// (primary/leader/streaming) vocabularies come back as-is; normalisation is in lib/postgres.
import {httpJson} from './http.js'

export type PatroniMember = {
  name: string
  role: string
  state: string
  api_url?: string
  host?: string
  port?: number
  timeline?: number
  lag?: number | string
  receive_lag?: number | string
  replay_lag?: number | string
  tags?: Record<string, unknown>
  pending_restart?: boolean
}

export type PatroniCluster = {
  members: PatroniMember[]
  pause?: boolean
  scheduled_switchover?: {at: string; from: string; to?: string}
}

export async function getCluster(endpoint: string, timeoutMs = 2000): Promise<PatroniCluster> {
  const res = await httpJson<PatroniCluster>(`${endpoint.replace(/\/$/, '')}/cluster`, {timeoutMs})
  if (res.status !== 200 || !res.body || !Array.isArray(res.body.members)) {
    throw new Error(`GET ${endpoint}/cluster answered ${res.status}: ${res.text.slice(0, 200)}`)
  }
  return res.body
}

export type PatroniNode = {state?: string; role?: string; timeline?: number; patroni?: {version?: string; scope?: string; name?: string}; xlog?: Record<string, unknown>}

/** GET / on a member: its own view (answers 200 for a leader, 503 otherwise, but always with JSON). */
export async function getNode(endpoint: string, timeoutMs = 2000): Promise<PatroniNode> {
  const res = await httpJson<PatroniNode>(`${endpoint.replace(/\/$/, '')}/patroni`, {timeoutMs})
  if (typeof res.body !== 'object' || res.body === null) throw new Error(`GET ${endpoint}/patroni answered ${res.status}`)
  return res.body
}
