// PostgreSQL under Patroni: members, roles, state, lag, timeline, pause, from the REST API, plus
// replay lag in seconds from each replica when credentials are configured.
import {getCluster, getNode, type PatroniCluster} from '../clients/patroni.js'
import type {Environment} from '../config/schema.js'
import {resolveSecret} from '../config/secrets.js'
import {errorMessage} from '../errors.js'
import {isHealthyState, lagBytes, normalizeRole} from '../postgres/roles.js'
import {formatBytes} from '../units.js'
import {rateAgainst, worst, type Rating, type StatusRow} from './types.js'
import {rateArchiving, readArchiveFacts, readArchiverStats} from './archiving.js'
import type {PgConn} from '../clients/postgres.js'
import {s3Conn} from '../s3/conn.js'
import {readClusterState} from '../postgres/cluster-state.js'

type Patroni = Extract<NonNullable<Environment['postgres']>, {kind: 'patroni'}>

async function replayLagSeconds(pg: Patroni, host: string, port: number, password: string | undefined): Promise<number> {
  const {withPg} = await import('../clients/postgres.js')
  return withPg({host, port, user: pg.user, password, database: pg.database}, async (c) => {
    // Caught up when everything received is replayed. Not `=`: a replica that restarted replays
    // what its pg_wal holds, then streams from the start of that segment, and until new WAL
    // arrives the flushed receive position stays behind the replay position (seen in the lab:
    // receive 0/30000000, replay 0/30000060); on an idle cluster the time since the last replayed
    // transaction then grows for ever and a healthy replica looked critical.
    const r = await c.query<{lag: string | null}>(
      `select case when not pg_is_in_recovery() then 0
                   when pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() then 0
                   else extract(epoch from now() - pg_last_xact_replay_timestamp()) end as lag`)
    return Number(r.rows[0]?.lag ?? 0)
  }, 2000)
}

type Reach = {ep: string; ok: true; name?: string} | {ep: string; ok: false; error: string}
type Member = PatroniCluster['members'][number]

/** Which endpoints answer, and the cluster as the first of them that has one sees it. */
async function findCluster(pg: Patroni): Promise<{reach: Reach[]; cluster?: PatroniCluster}> {
  const reach: Reach[] = await Promise.all(pg.endpoints.map(async (ep): Promise<Reach> => {
    try {
      return {ep, ok: true, name: (await getNode(ep)).patroni?.name}
    } catch (error) {
      return {ep, ok: false, error: errorMessage(error)}
    }
  }))
  for (const r of reach.filter((x) => x.ok)) {
    try {
      return {reach, cluster: await getCluster(r.ep)}
    } catch {
      // try the next endpoint
    }
  }
  return {reach}
}

async function memberRow(env: Environment, pg: Patroni, m: Member, o: {leader?: Member; down: Extract<Reach, {ok: false}>[]; password?: string}): Promise<StatusRow> {
  const role = normalizeRole(m.role)
  const ratings: Rating[] = []
  const notes: string[] = []
  const facts: Record<string, unknown> = {role, rawRole: m.role, state: m.state, timeline: m.timeline, host: m.host, port: m.port}
  const apiDown = o.down.find((d) => m.api_url?.startsWith(d.ep.replace(/\/$/, '')))
  if (apiDown) {
    ratings.push('crit')
    notes.push(`Patroni API unreachable (${apiDown.error})`)
  }
  if (!isHealthyState(m.state)) {
    ratings.push(['starting', 'creating replica', 'restarting', 'running custom bootstrap script'].includes(m.state) ? 'warn' : 'crit')
    notes.push(`state ${m.state}`)
  }
  if (role === 'replica') {
    const lb = lagBytes(m.lag ?? m.replay_lag)
    facts.lagBytes = lb ?? null
    if (lb === undefined) {
      ratings.push('crit')
      notes.push('lag unknown (not replicating)')
    } else {
      ratings.push(rateAgainst(lb, env.slo.replicationLagBytes))
      notes.push(`lag ${formatBytes(lb)}`)
    }
    if (o.leader?.timeline !== undefined && m.timeline !== undefined && m.timeline !== o.leader.timeline) {
      ratings.push('warn')
      notes.push(`timeline ${m.timeline} != leader's ${o.leader.timeline}`)
    }
    if (o.password !== undefined && m.host && m.port && isHealthyState(m.state)) {
      try {
        const sec = await replayLagSeconds(pg, m.host, m.port, o.password)
        facts.lagSeconds = sec
        ratings.push(rateAgainst(sec, env.slo.replicationLag))
        notes.push(`replay lag ${sec.toFixed(1)} s`)
      } catch (error) {
        notes.push(`replay lag not measured (${errorMessage(error)})`)
      }
    }
  }
  if (m.tags?.nofailover) notes.push('tagged nofailover')
  return {component: 'postgres', name: m.name, role, state: m.state, rating: worst(ratings), detail: notes.join('; ') || `timeline ${m.timeline}`, facts}
}

function clusterRow(pg: Patroni, cluster: PatroniCluster, leader?: Member): StatusRow {
  const ratings: Rating[] = []
  const notes: string[] = []
  if (!leader) {
    ratings.push('crit')
    notes.push('no leader')
  } else notes.push(`leader ${leader.name}, timeline ${leader.timeline}`)
  if (cluster.pause) {
    ratings.push('warn')
    notes.push('maintenance mode (paused): no automatic failover')
  }
  if (cluster.scheduled_switchover) notes.push(`switchover scheduled at ${cluster.scheduled_switchover.at}`)
  notes.push(`${cluster.members.length}/${pg.endpoints.length} members`)
  if (cluster.members.length < pg.endpoints.length) ratings.push('crit')
  return {component: 'postgres', name: pg.cluster, role: 'cluster', state: cluster.pause ? 'paused' : leader ? 'has leader' : 'no leader',
    rating: worst(ratings), detail: notes.join('; '), facts: {paused: Boolean(cluster.pause), leader: leader?.name ?? null, timeline: leader?.timeline ?? null, members: cluster.members.length}}
}

export async function postgresStatus(env: Environment): Promise<StatusRow[]> {
  const pg = env.postgres
  if (!pg) return []
  if (pg.kind === 'rds') {
    return [{component: 'postgres', name: pg.clusterId, state: 'not checked', rating: 'warn', detail: 'RDS/Aurora status is not implemented yet'}]
  }
  const {reach, cluster} = await findCluster(pg)
  if (!cluster) {
    return [{component: 'postgres', name: pg.cluster, state: 'unreachable', rating: 'crit',
      detail: `no Patroni endpoint answered: ${reach.map((r) => `${r.ep} (${r.ok ? 'no /cluster' : r.error})`).join('; ')}`}]
  }
  const password = pg.passwordFrom ? (() => {
    try {
      return resolveSecret(pg.passwordFrom, 'postgres.passwordFrom')
    } catch {
      return undefined
    }
  })() : undefined
  const leader = cluster.members.find((m) => normalizeRole(m.role) === 'leader' || normalizeRole(m.role) === 'standby-leader')
  const down = reach.filter((r): r is Extract<Reach, {ok: false}> => !r.ok)
  const rows: StatusRow[] = []
  for (const m of cluster.members) rows.push(await memberRow(env, pg, m, {leader, down, password}))
  // Configured endpoints that answer nothing and belong to no listed member (its key expired).
  for (const d of down) {
    if (cluster.members.some((m) => m.api_url?.startsWith(d.ep.replace(/\/$/, '')))) continue
    rows.push({component: 'postgres', name: d.ep, state: 'unreachable', rating: 'crit', detail: `member not in the cluster and its Patroni API does not answer (${d.error})`})
  }
  if (leader?.host && leader.port) rows.push(await archivingRow(env, pg, {host: leader.host, port: leader.port, user: pg.user, password, database: pg.database}, leader.name))
  return [clusterRow(pg, cluster, leader), ...rows]
}

/** WAL archiving on the leader (pg_stat_archiver), with what the archive says about a failing file. */
async function archivingRow(env: Environment, pg: Patroni, conn: PgConn, leader: string): Promise<StatusRow> {
  const base = {component: 'postgres' as const, name: 'archiving', role: `leader ${leader}`}
  if (conn.password === undefined && pg.passwordFrom) return {...base, state: 'not checked', rating: 'warn', detail: 'the postgres password is not available: archiving not checked'}
  let stats
  try {
    stats = await readArchiverStats(conn)
  } catch (error) {
    return {...base, state: 'not checked', rating: 'warn', detail: `could not read pg_stat_archiver on the leader: ${errorMessage(error)}`}
  }
  let facts
  const loc = pg.backup && env.s3 ? {bucket: pg.backup.bucket, prefix: pg.backup.prefix, cluster: pg.cluster} : undefined
  if (loc && env.s3) {
    try {
      facts = await readArchiveFacts(s3Conn(env.s3), loc, stats.lastFailedWal)
    } catch {
      // the archive is rated by the s3 component; the leader's view still stands
    }
  }
  const r = rateArchiving(stats, facts, env.slo.rpo.postgres, loc)
  return {...base, state: r.state, rating: r.rating, detail: r.detail, facts: r.facts}
}

/** The archiving row for an environment's Patroni cluster (for `backup list`): undefined without a leader. */
export async function archivingOf(env: Environment): Promise<StatusRow | null> {
  const pg = env.postgres
  if (!pg || pg.kind !== 'patroni') return null
  const {leader} = await readClusterState(pg.cluster, pg.endpoints)
  if (!leader?.host || !leader.port) return null
  const password = pg.passwordFrom ? resolveSecret(pg.passwordFrom, 'postgres.passwordFrom') : undefined
  return archivingRow(env, pg, {host: leader.host, port: leader.port, user: pg.user, password, database: pg.database}, leader.name)
}
