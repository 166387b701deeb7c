// What a drill plan is built from: who leads, which Redis master serves the probe's slot, whether
// a base backup exists, and, in the lab, the pid files of the processes a fault signals.
import {dirname, join} from 'node:path'
import type {ResolvedEnvironment} from '../config/load.js'
import {resolveSecret} from '../config/secrets.js'
import {readLayout, REDIS_NODES, PG_MEMBERS, portOf} from '../lab/layout.js'
import {memberDir, memberName, pidFile} from '../lab/services.js'
import {readClusterState} from '../postgres/cluster-state.js'
import {patroniTarget} from '../postgres/target.js'
import {redisCommand, parseHostPort} from '../clients/redis.js'
import {readTopology} from '../redis/topology.js'
import {s3Conn, s3Where} from '../s3/conn.js'
import {backupTarget} from '../backup/location.js'
import {auditS3Target} from '../audit/s3.js'
import {clusterOf} from '../kube/cluster.js'
import {ownsSlot} from '../redis/cluster.js'
import {redisKey} from '../clients/drill-probe.js'
import {healthComponents, type DrillObserved, type LabProcesses} from './plan.js'
import {SCENARIO_INFO, type ScenarioId} from './scenarios.js'

/** The lab an environment comes from: its config file lies in a lab directory (lab.json beside it). */
export function labOf(r: ResolvedEnvironment): LabProcesses | undefined {
  const origin = r.loaded.origins[r.name]
  const l = origin ? readLayout(dirname(origin)) : undefined
  if (!l) return undefined
  return {
    dir: l.dir,
    postgres: l.components.includes('postgres') ? PG_MEMBERS.map((i) => ({member: memberName(i), patroniPidFile: pidFile(l, `patroni-${i}`), postmasterPidFile: join(memberDir(l, i), 'data', 'postmaster.pid')})) : [],
    redis: l.components.includes('redis') ? REDIS_NODES.map((i) => ({address: `127.0.0.1:${portOf(l, `redis-${i}`)}`, pidFile: pidFile(l, `redis-${i}`)})) : [],
  }
}

/** What decides whether a scenario can run here, from the config alone (no network): for `drill list`. */
export function configuredFor(r: ResolvedEnvironment): DrillObserved {
  const env = r.env
  const lab = labOf(r)
  const cluster = clusterOf(env)
  return {run: '', historyDir: '', ...(lab ? {lab} : {}),
    ...(env.postgres?.kind === 'patroni' ? {postgres: {cluster: env.postgres.cluster, endpoints: env.postgres.endpoints, user: env.postgres.user, database: env.postgres.database, backups: 0, kubernetes: Boolean(env.postgres.kubernetes)}} : {}),
    ...(env.redis ? {redis: {nodes: env.redis.nodes}} : {}),
    ...(env.s3 ? {s3: {s3: s3Where(s3Conn(env.s3)), bucket: env.s3.buckets.data}} : {}),
    ...(cluster ? {kube: {cluster, velero: Boolean(env.velero)}} : {})}
}

export const runId = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z')

export async function observeDrill(id: ScenarioId, r: ResolvedEnvironment, historyDir: string, run = runId()): Promise<DrillObserved> {
  const env = r.env
  const needs = SCENARIO_INFO[id].needs
  const o: DrillObserved = {run, historyDir}
  const lab = labOf(r)
  if (lab) o.lab = lab
  if (env.postgres?.kind === 'patroni') {
    const t = patroniTarget(env, r.name)
    let leader: string | undefined
    let backups = 0
    if (needs.includes('postgres')) {
      leader = (await readClusterState(t.name, t.endpoints)).leader?.name
      if (id === 'postgres-corruption' && env.postgres.backup) {
        const {readCatalog} = await import('../backup/catalog.js')
        const {location, conn} = backupTarget(env, r.name)
        backups = (await readCatalog(conn, location)).backups.length
      }
    }
    o.postgres = {cluster: t.name, endpoints: t.endpoints, user: t.user, database: t.database, backups, kubernetes: Boolean(env.postgres.kubernetes), ...(leader ? {leader} : {})}
  }
  if (env.redis) {
    o.redis = {nodes: env.redis.nodes}
    if (id === 'redis-master-loss') {
      const password = env.redis.passwordFrom ? resolveSecret(env.redis.passwordFrom, 'redis.passwordFrom') : undefined
      const topology = await readTopology(env.redis.nodes, password)
      const seed = topology.views.find((v) => v.reachable)!.address
      const slot = Number(await redisCommand({...parseHostPort(seed), password}, 'CLUSTER', 'KEYSLOT', redisKey(run, 1)))
      const master = topology.nodes.find((n) => n.role === 'master' && !n.failing && ownsSlot(n.slots, slot))
      if (master) o.redis.victim = {address: master.address, slot, replicas: topology.nodes.filter((n) => n.masterId === master.id && !n.failing).length}
    }
  }
  if (env.s3) o.s3 = {s3: s3Where(s3Conn(env.s3)), bucket: env.s3.buckets.data}
  const cluster = clusterOf(env)
  if (cluster) o.kube = {cluster, velero: Boolean(env.velero)}
  const audit = (() => {
    try {
      return auditS3Target(r.loaded, r.name)
    } catch {
      return undefined
    }
  })()
  if (audit) o.auditS3 = {s3: s3Where(audit.conn), bucket: audit.bucket, prefix: audit.prefix}
  // What was not ok before the drill: the health check at its end judges only what got worse.
  const {collectStatus} = await import('../status/collect.js')
  const before = await collectStatus(r.name, env, healthComponents(id))
  o.baseline = before.components.flatMap((c) => c.rows).filter((x) => x.rating !== 'ok').map((x) => ({key: `${x.component} ${x.name}`, rating: x.rating as 'warn' | 'crit'}))
  return o
}
