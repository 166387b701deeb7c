// Patroni's REST API (GET /cluster and friends). Both the 3.x (master/running) and 4.x
// (primary/leader/streaming) vocabularies come back as-is; normalisation is in lib/postgres.
import {httpJson, type HttpAccess} from './http.js'

// One environment per run: its Patroni REST access (basic auth, CA, client certificate) applies to
// every call, to the configured endpoints and to the members' api_urls alike.
let accessOf: (() => HttpAccess) | undefined
let access: HttpAccess | undefined
export function setPatroniAccess(get: (() => HttpAccess) | undefined): void {
  accessOf = get
  access = undefined
}
const a = (): HttpAccess | undefined => (accessOf ? (access ??= accessOf()) : undefined)

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
  const res = await httpJson<PatroniCluster>(`${endpoint.replace(/\/$/, '')}/cluster`, {access: a(), timeoutMs})
  if (res.status !== 200 || !res.body || !Array.isArray(res.body.members)) {
    throw new Error(`GET ${endpoint}/cluster answered ${res.status}: ${res.text.slice(0, 200)}`)
  }
  return res.body
}

export type PatroniNode = {state?: string; role?: string; timeline?: number; pause?: boolean; patroni?: {version?: string; scope?: string; name?: string}; xlog?: Record<string, unknown>}

/** GET / on a member: its own view (answers 200 for a leader, 503 otherwise, but always with JSON). */
export async function getNode(endpoint: string, timeoutMs = 2000): Promise<PatroniNode> {
  const res = await httpJson<PatroniNode>(`${endpoint.replace(/\/$/, '')}/patroni`, {access: a(), timeoutMs})
  if (typeof res.body !== 'object' || res.body === null) throw new Error(`GET ${endpoint}/patroni answered ${res.status}`)
  return res.body
}

export type PatroniNodeFull = PatroniNode & {
  xlog?: {location?: number; received_location?: number; replayed_location?: number; replayed_timestamp?: string | null; paused?: boolean}
  replication?: {application_name: string; state: string; sync_state: string}[]
  server_version?: number
}

export async function getNodeFull(endpoint: string, timeoutMs = 2000): Promise<PatroniNodeFull> {
  return (await getNode(endpoint, timeoutMs)) as PatroniNodeFull
}

export type PatroniDynamicConfig = {ttl?: number; loop_wait?: number; retry_timeout?: number; maximum_lag_on_failover?: number; synchronous_mode?: boolean; synchronous_mode_strict?: boolean; pause?: boolean}

export async function getConfig(endpoint: string): Promise<PatroniDynamicConfig> {
  const res = await httpJson<PatroniDynamicConfig>(`${endpoint.replace(/\/$/, '')}/config`, {access: a(), timeoutMs: 2000})
  if (res.status !== 200) throw new Error(`GET ${endpoint}/config answered ${res.status}: ${res.text.slice(0, 200)}`)
  return res.body
}

export async function patchConfig(endpoint: string, patch: Record<string, unknown>): Promise<PatroniDynamicConfig> {
  const res = await httpJson<PatroniDynamicConfig>(`${endpoint.replace(/\/$/, '')}/config`, {access: a(), method: 'PATCH', body: patch, timeoutMs: 5000})
  if (res.status !== 200) throw new Error(`PATCH ${endpoint}/config answered ${res.status}: ${res.text.slice(0, 200)}`)
  return res.body
}

export type PatroniActionResponse = {status: number; text: string}

/** POST /switchover or /failover. Patroni answers when it has seen the outcome (or gave up waiting: 503). */
export async function postAction(endpoint: string, action: 'switchover' | 'failover', body: Record<string, string>, signal?: AbortSignal): Promise<PatroniActionResponse> {
  // Patroni answers when it has seen the outcome: no timeout of our own, the caller's signal ends it.
  const res = await httpJson(`${endpoint.replace(/\/$/, '')}/${action}`, {access: a(), method: 'POST', body, timeoutMs: 3_600_000, ...(signal ? {signal} : {})})
  return {status: res.status, text: res.text.trim()}
}

export async function deleteScheduledSwitchover(endpoint: string): Promise<PatroniActionResponse> {
  const res = await httpJson(`${endpoint.replace(/\/$/, '')}/switchover`, {access: a(), method: 'DELETE', timeoutMs: 5000})
  return {status: res.status, text: res.text.trim()}
}

/** POST /restart on a member: with the cluster paused and PostgreSQL stopped, this starts it with Patroni's own settings. */
export async function postRestart(endpoint: string, timeoutMs = 120_000): Promise<PatroniActionResponse> {
  const res = await httpJson(`${endpoint.replace(/\/$/, '')}/restart`, {access: a(), method: 'POST', body: {}, timeoutMs})
  return {status: res.status, text: res.text.trim()}
}

/** POST /reinitialize on a replica: Patroni wipes its data directory and clones it from the leader. */
export async function postReinitialize(endpoint: string, force: boolean): Promise<PatroniActionResponse> {
  const res = await httpJson(`${endpoint.replace(/\/$/, '')}/reinitialize`, {access: a(), method: 'POST', body: {force}, timeoutMs: 10_000})
  return {status: res.status, text: res.text.trim()}
}

/** POST /reload on a member: it re-reads patroni.yml. */
export async function postReload(endpoint: string): Promise<PatroniActionResponse> {
  const res = await httpJson(`${endpoint.replace(/\/$/, '')}/reload`, {access: a(), method: 'POST', timeoutMs: 5000})
  return {status: res.status, text: res.text.trim()}
}
