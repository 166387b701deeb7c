// A snapshot of a Patroni cluster as a planner needs it: members from GET /cluster, each
// member's own view from GET /patroni (WAL positions, replay paused), and the dynamic config.
import {getCluster, getConfig, getNodeFull, type PatroniCluster} from '../clients/patroni.js'
import {errorMessage, failure} from '../errors.js'
import {isHealthyState, lagBytes, normalizeRole, type MemberRole} from './roles.js'

export type MemberState = {
  name: string
  role: MemberRole
  rawRole: string
  state: string
  host?: string
  port?: number
  /** REST base URL (http://host:8008), from the member's api_url. */
  api?: string
  timeline?: number
  /** Lag as Patroni reports it (bytes behind the leader's WAL position, by received WAL). */
  lagBytes?: number
  /** Bytes of WAL the member has not replayed yet, from the leader's and its own /patroni. */
  replayLagBytes?: number
  replayPaused?: boolean
  nofailover: boolean
  reachable: boolean
}

export type ClusterState = {
  cluster: string
  endpoint: string
  members: MemberState[]
  leader?: MemberState
  paused: boolean
  synchronousMode: boolean
  syncStandbys: string[]
  scheduledSwitchover?: {at: string; from: string; to?: string}
  loopWait: number
  observedAt: string
}

export const apiBase = (apiUrl?: string): string | undefined => apiUrl?.replace(/\/patroni\/?$/, '')

/** GET /cluster from the first endpoint that answers. */
export async function firstCluster(endpoints: string[]): Promise<{endpoint: string; cluster: PatroniCluster}> {
  const errors: string[] = []
  for (const endpoint of endpoints) {
    try {
      return {endpoint, cluster: await getCluster(endpoint, 1500)}
    } catch (error) {
      errors.push(`${endpoint}: ${errorMessage(error)}`)
    }
  }
  throw failure('PATRONI_UNREACHABLE', `no Patroni endpoint answered GET /cluster (${errors.join('; ')})`, ['Check the endpoints in the config, or `vaultctl status --component postgres`.'])
}

async function readConfig(endpoints: string[]): Promise<Awaited<ReturnType<typeof getConfig>>> {
  const errors: string[] = []
  for (const e of endpoints) {
    try {
      return await getConfig(e)
    } catch (error) {
      errors.push(`${e}: ${errorMessage(error)}`)
    }
  }
  throw failure('PATRONI_CONFIG_UNREADABLE', `no Patroni endpoint answered GET /config (${errors.join('; ')}): synchronous mode and pause cannot be checked`,
    ['Check Patroni\'s REST API (its authentication, or the DCS behind it), then re-run.'])
}

export async function readClusterState(name: string, endpoints: string[]): Promise<ClusterState> {
  const {endpoint, cluster} = await firstCluster(endpoints)
  // The dynamic config decides checks (synchronous mode, pause): unread, they must not pass by default.
  const config = await readConfig([endpoint, ...endpoints.filter((e) => e !== endpoint)])
  const nodes = await Promise.all(cluster.members.map(async (m) => {
    const api = apiBase(m.api_url)
    try {
      return api ? await getNodeFull(api, 1500) : undefined
    } catch {
      return undefined
    }
  }))
  const leaderIdx = cluster.members.findIndex((m) => ['leader', 'standby-leader'].includes(normalizeRole(m.role)))
  const leaderLsn = leaderIdx >= 0 ? nodes[leaderIdx]?.xlog?.location : undefined
  const members: MemberState[] = cluster.members.map((m, i) => {
    const node = nodes[i]
    const replayed = node?.xlog?.replayed_location
    return {
      name: m.name,
      role: normalizeRole(m.role),
      rawRole: m.role,
      state: m.state,
      host: m.host,
      port: m.port,
      api: apiBase(m.api_url),
      timeline: m.timeline ?? node?.timeline,
      lagBytes: lagBytes(m.lag),
      replayLagBytes: leaderLsn !== undefined && replayed !== undefined ? Math.max(0, leaderLsn - replayed) : undefined,
      replayPaused: node?.xlog?.paused,
      nofailover: Boolean(m.tags?.nofailover),
      reachable: node !== undefined,
    }
  })
  const leader = leaderIdx >= 0 ? members[leaderIdx] : undefined
  return {
    cluster: name,
    endpoint,
    members,
    leader,
    paused: Boolean(cluster.pause ?? config.pause),
    synchronousMode: Boolean(config.synchronous_mode),
    syncStandbys: cluster.members.filter((m) => m.role === 'sync_standby').map((m) => m.name),
    scheduledSwitchover: cluster.scheduled_switchover,
    loopWait: config.loop_wait ?? 10,
    observedAt: new Date().toISOString(),
  }
}

export const healthyLeader = (s: ClusterState): boolean => Boolean(s.leader && isHealthyState(s.leader.state) && s.leader.reachable)

export type MemberRow = {name: string; role: MemberRole; state: string; timeline?: number; lagBytes?: number}

export const memberRows = (s: ClusterState): MemberRow[] =>
  s.members.map((m) => ({name: m.name, role: m.role, state: m.state, timeline: m.timeline, lagBytes: m.lagBytes}))
