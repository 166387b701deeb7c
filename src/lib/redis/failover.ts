// Planned Redis Cluster failover: CLUSTER FAILOVER [FORCE|TAKEOVER] sent to a replica, verified
// when every reachable node agrees on the new master (and the old master as its replica),
// cluster_state is ok and all 16384 slots are covered.
import {refusal} from '../errors.js'
import type {Operation} from '../plan/operations.js'
import type {Plan, Step} from '../plan/types.js'
import type {ClusterNode} from './cluster.js'
import {isDown, readNodeView, viewOf, type Topology} from './topology.js'

export type RedisFailoverMode = 'default' | 'force' | 'takeover'
export type RedisFailoverOptions = {replica?: string; master?: string; mode: RedisFailoverMode; timeoutMs: number}


const MODES: Record<RedisFailoverMode, {arg: string[]; explain: string}> = {
  default: {arg: [], explain: 'waits for the replica to catch up with its master, then switches (no data loss)'},
  force: {arg: ['FORCE'], explain: 'FORCE: no handshake with the master (for a master that is down); still needs a majority of masters to vote; writes the replica had not received are lost'},
  takeover: {arg: ['TAKEOVER'], explain: 'TAKEOVER: no agreement from anyone (for when the majority of masters is gone); breaks "last failover wins"'},
}

function offsetLag(t: Topology, master: ClusterNode, replica: ClusterNode): number | undefined {
  const m = Number(viewOf(t, master.address)?.replication.master_repl_offset)
  const r = Number(viewOf(t, replica.address)?.replication.slave_repl_offset)
  return Number.isFinite(m) && Number.isFinite(r) ? Math.max(0, m - r) : undefined
}

const linkUp = (t: Topology, replica: ClusterNode) => viewOf(t, replica.address)?.replication.master_link_status === 'up'

/** Resolve --replica / --master to the replica to promote, or refuse with what to do instead. */
export function chooseReplica(t: Topology, opts: RedisFailoverOptions): {replica: ClusterNode; master: ClusterNode} {
  const known = () => `known nodes: ${t.nodes.map((n) => `${n.address} (${n.role})`).join(', ')}`
  if (opts.replica) {
    const r = t.byAddress.get(opts.replica)
    if (!r) throw refusal('UNKNOWN_NODE', `${opts.replica} is not a node of this cluster`, [known()])
    if (r.role === 'master') {
      const replicas = t.nodes.filter((n) => n.masterId === r.id).map((n) => n.address)
      throw refusal('NOT_A_REPLICA', `${opts.replica} is a master: CLUSTER FAILOVER must be sent to one of its replicas (${replicas.join(', ') || 'it has none'})`,
        [`Use --master ${opts.replica} to let vaultctl pick its healthiest replica${replicas[0] ? `, or --replica ${replicas[0]}` : ''}.`])
    }
    const m = t.nodes.find((n) => n.id === r.masterId)
    if (!m) throw refusal('UNKNOWN_MASTER', `${opts.replica} replicates ${r.masterId}, which the cluster does not list`, [known()])
    return {replica: r, master: m}
  }
  const m = t.byAddress.get(opts.master!)
  if (!m) throw refusal('UNKNOWN_NODE', `${opts.master} is not a node of this cluster`, [known()])
  if (m.role !== 'master') throw refusal('NOT_A_MASTER', `${opts.master} is a replica`, [`Did you mean --replica ${opts.master}?`])
  const replicas = t.nodes.filter((n) => n.masterId === m.id && !isDown(t, n))
  if (replicas.length === 0) throw refusal('NO_REPLICA', `master ${opts.master} has no reachable replica to promote`, [known()])
  // Healthiest: link up first, then the smallest offset lag (or, with the master down, the largest offset).
  const score = (r: ClusterNode) => [linkUp(t, r) ? 0 : 1, offsetLag(t, m, r) ?? -Number(viewOf(t, r.address)?.replication.slave_repl_offset ?? 0)] as const
  replicas.sort((a, b) => score(a)[0] - score(b)[0] || score(a)[1] - score(b)[1])
  return {replica: replicas[0]!, master: m}
}

export function redisPreflight(t: Topology, replica: ClusterNode, master: ClusterNode, mode: RedisFailoverMode): void {
  const view = viewOf(t, replica.address)
  if (!view?.reachable) throw refusal('REPLICA_DOWN', `replica ${replica.address} does not answer (${view?.error ?? 'unknown'})`, ['Pick another replica with --replica, or --master to let vaultctl choose.'])
  const masterDown = isDown(t, master)
  const slotMasters = t.nodes.filter((n) => n.role === 'master' && n.slotCount > 0)
  const upMasters = slotMasters.filter((n) => !isDown(t, n))
  if (mode === 'default') {
    if (masterDown) {
      throw refusal('MASTER_DOWN', `the master of ${replica.address}, ${master.address}, is down: a default failover needs its handshake`,
        [`--mode force: ${MODES.force.explain}.`, `--mode takeover: ${MODES.takeover.explain}.`])
    }
    if (view.info.cluster_state !== 'ok') throw refusal('CLUSTER_NOT_OK', `cluster_state is ${view.info.cluster_state} on ${replica.address}`, ['Run `vaultctl status --component redis` and fix the cluster first, or use --mode force.'])
    if (!linkUp(t, replica)) throw refusal('LINK_DOWN', `${replica.address}'s link to its master is ${view.replication.master_link_status ?? 'unknown'}`, [`--mode force: ${MODES.force.explain}.`])
  }
  if (mode === 'force' && upMasters.length <= slotMasters.length / 2) {
    throw refusal('NO_MAJORITY', `only ${upMasters.length} of ${slotMasters.length} masters are up: FORCE needs a majority to vote`, [`--mode takeover: ${MODES.takeover.explain}.`])
  }
}

/**
 * The failover as a plan: pure, from an observed topology (readTopology). Sends CLUSTER FAILOVER to
 * the chosen replica, then waits until every reachable node agrees. Refuses (exit 3) what the
 * preflight rejects.
 */
export function planRedisFailover(before: Topology, env: {name: string; protected: boolean}, opts: RedisFailoverOptions, password?: string): {plan: Plan; replica: ClusterNode; master: ClusterNode} {
  const {replica, master} = chooseReplica(before, opts)
  redisPreflight(before, replica, master, opts.mode)
  const mode = MODES[opts.mode]
  const failover: Operation = {kind: 'redis.command', node: replica.address, args: ['CLUSTER', 'FAILOVER', ...mode.arg], expect: 'OK'}
  const verify: Operation = {kind: 'redis.await-failover', nodes: before.views.filter((v) => v.reachable).map((v) => v.address),
    replica: {id: replica.id, address: replica.address}, oldMaster: {id: master.id, address: master.address, slots: master.slotCount}, timeoutMs: opts.timeoutMs}
  const steps: Step[] = [
    {id: 'cluster-failover', title: `promote replica ${replica.address} over master ${master.address} (CLUSTER FAILOVER${mode.arg.length ? ' ' + mode.arg[0] : ''})`,
      risk: opts.mode === 'default' ? 'write' : 'destructive', op: failover},
    {id: 'verify-agreement', title: `wait until every node agrees ${replica.address} is master and the cluster is ok`, risk: 'read', op: verify},
  ]
  return {replica, master, plan: {
    command: 'failover redis', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `Redis Cluster failover (${opts.mode}): ${replica.address} replaces master ${master.address} (${master.slotCount} slots). ${mode.explain}`,
    observed: {replica: replica.address, master: master.address, masterDown: isDown(before, master), offsetLag: offsetLag(before, master, replica) ?? null},
    fingerprint: redisFingerprint(before),
    preconditions: [{
      id: 'still-replica', description: `${replica.address} is still a replica of ${master.address}`,
      async check() {
        const v = await readNodeView(replica.address, password)
        const me = v.nodes.find((n) => n.myself)
        return me?.role === 'replica' && me.masterId === master.id ? {ok: true, detail: 'unchanged'} : {ok: false, detail: `it is now ${me?.role ?? 'unreachable'}${me?.masterId ? ` of ${me.masterId}` : ''}`}
      },
    }],
    steps,
  }}
}

/** What a saved failover plan depends on: who is master of what, and who is up. */
export function redisFingerprint(t: Topology): Record<string, unknown> {
  return Object.fromEntries(t.nodes.map((n) => [n.address, `${n.role}${n.masterId ? ` of ${t.nodes.find((m) => m.id === n.masterId)?.address ?? n.masterId}` : ''}${n.role === 'master' ? ` slots ${n.slotCount}` : ''}${isDown(t, n) ? ' DOWN' : ''}`]).sort(([a], [b]) => String(a).localeCompare(String(b))))
}
