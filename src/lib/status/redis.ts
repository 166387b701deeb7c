// Redis Cluster: cluster state, slot coverage, each master with its replicas, link state.
import {parseHostPort, redisCommand} from '../clients/redis.js'
import type {Environment} from '../config/schema.js'
import {resolveSecret} from '../config/secrets.js'
import {errorMessage} from '../errors.js'
import {parseClusterInfo, parseClusterNodes, type ClusterNode} from '../redis/cluster.js'
import {worst, type Rating, type StatusRow} from './types.js'

export async function redisStatus(env: Environment): Promise<StatusRow[]> {
  const cfg = env.redis
  if (!cfg) return []
  const password = cfg.passwordFrom ? resolveSecret(cfg.passwordFrom, 'redis.passwordFrom') : undefined
  const seeds = await Promise.all(cfg.nodes.map(async (addr) => {
    const conn = {...parseHostPort(addr), password}
    try {
      const [info, nodes] = await Promise.all([redisCommand(conn, 'CLUSTER', 'INFO'), redisCommand(conn, 'CLUSTER', 'NODES')])
      return {addr, ok: true as const, info: parseClusterInfo(String(info)), nodes: parseClusterNodes(String(nodes))}
    } catch (error) {
      return {addr, ok: false as const, error: errorMessage(error)}
    }
  }))
  const answering = seeds.filter((s) => s.ok)
  if (answering.length === 0) {
    return [{component: 'redis', name: 'cluster', state: 'unreachable', rating: 'crit', detail: `no seed node answered: ${seeds.map((s) => `${s.addr} (${s.ok ? '' : s.error})`).join('; ')}`}]
  }
  const view = answering[0]!
  const rows: StatusRow[] = []
  const unreachable = new Map(seeds.filter((s) => !s.ok).map((s) => [s.addr, s.ok ? '' : s.error]))
  // A node is failing if any answering node flags it so.
  const failingIds = new Set(answering.flatMap((s) => s.nodes.filter((n) => n.failing).map((n) => n.id)))
  const byId = new Map(view.nodes.map((n) => [n.id, n]))
  const masters = view.nodes.filter((n) => n.role === 'master' && n.slotCount > 0)
  const rateNode = (n: ClusterNode): {rating: Rating; notes: string[]} => {
    const notes: string[] = []
    const ratings: Rating[] = []
    if (unreachable.has(n.address)) {
      ratings.push('crit')
      notes.push(`does not answer (${unreachable.get(n.address)})`)
    }
    if (failingIds.has(n.id)) {
      ratings.push('crit')
      notes.push(`flagged ${n.flags.filter((f) => f.startsWith('fail')).join(',') || 'failing'} by the cluster`)
    }
    if (n.linkState !== 'connected' && !n.myself) {
      ratings.push('crit')
      notes.push('link disconnected')
    }
    return {rating: worst(ratings), notes}
  }
  for (const m of masters.sort((a, b) => a.address.localeCompare(b.address))) {
    const replicas = view.nodes.filter((n) => n.masterId === m.id)
    const r = rateNode(m)
    const healthyReplicas = replicas.filter((x) => rateNode(x).rating === 'ok')
    if (healthyReplicas.length === 0) {
      r.notes.push('no healthy replica')
      r.rating = worst([r.rating, 'warn'])
    }
    rows.push({component: 'redis', name: m.address, role: 'master', state: failingIds.has(m.id) ? 'fail' : m.linkState, rating: r.rating,
      detail: [`slots ${m.slots.join(' ')}`, `replicas ${replicas.map((x) => x.address).join(', ') || 'none'}`, ...r.notes].join('; '),
      facts: {id: m.id, slots: m.slotCount, replicas: replicas.map((x) => x.address)}})
    for (const x of replicas.sort((a, b) => a.address.localeCompare(b.address))) {
      const rx = rateNode(x)
      rows.push({component: 'redis', name: x.address, role: 'replica', state: failingIds.has(x.id) ? 'fail' : x.linkState, rating: rx.rating,
        detail: [`replica of ${m.address}`, ...rx.notes].join('; '), facts: {id: x.id, masterId: m.id}})
    }
  }
  // Nodes that are neither slot-owning masters nor replicas of one (orphans, empty masters).
  for (const n of view.nodes) {
    if (masters.includes(n) || (n.masterId && byId.get(n.masterId) && masters.includes(byId.get(n.masterId)!))) continue
    const r = rateNode(n)
    rows.push({component: 'redis', name: n.address, role: n.role, state: failingIds.has(n.id) ? 'fail' : n.linkState, rating: worst([r.rating, 'warn']),
      detail: [n.role === 'master' ? 'master without slots' : `replica of unknown master ${n.masterId}`, ...r.notes].join('; ')})
  }
  for (const [addr, err] of unreachable) {
    if (view.nodes.some((n) => n.address === addr)) continue
    rows.push({component: 'redis', name: addr, state: 'unreachable', rating: 'crit', detail: `seed node does not answer and the cluster does not list it (${err})`})
  }
  const info = view.info
  const slotsOk = Number(info.cluster_slots_ok ?? 0)
  const clusterRatings: Rating[] = []
  if (info.cluster_state !== 'ok') clusterRatings.push('crit')
  if (slotsOk < 16_384) clusterRatings.push('crit')
  if (Number(info.cluster_slots_pfail ?? 0) > 0) clusterRatings.push('warn')
  rows.unshift({component: 'redis', name: 'cluster', role: 'cluster', state: info.cluster_state ?? 'unknown', rating: worst(clusterRatings),
    detail: `slots ok ${slotsOk}/16384, ${masters.length} masters, ${view.nodes.length - masters.length} other nodes, seen from ${view.addr}`,
    facts: {clusterState: info.cluster_state, slotsOk, slotsPfail: Number(info.cluster_slots_pfail ?? 0), slotsFail: Number(info.cluster_slots_fail ?? 0), knownNodes: Number(info.cluster_known_nodes ?? 0)}})
  return rows
}
