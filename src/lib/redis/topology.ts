// Each Redis Cluster node's own view (CLUSTER NODES, CLUSTER INFO, INFO replication), read in
// parallel from every node we know of. Failover plans and their verification are built on it.
import {parseHostPort, redisCommand, type RedisConn} from '../clients/redis.js'
import {errorMessage, failure} from '../errors.js'
import {parseClusterInfo, parseClusterNodes, type ClusterNode} from './cluster.js'

export type NodeView = {
  address: string
  reachable: boolean
  error?: string
  nodes: ClusterNode[]
  info: Record<string, string>
  replication: Record<string, string>
}

export type Topology = {views: NodeView[]; nodes: ClusterNode[]; byAddress: Map<string, ClusterNode>}

export async function readNodeView(address: string, password?: string): Promise<NodeView> {
  const conn: RedisConn = {...parseHostPort(address), password}
  try {
    const [nodes, info, repl] = await Promise.all([
      redisCommand(conn, 'CLUSTER', 'NODES'), redisCommand(conn, 'CLUSTER', 'INFO'), redisCommand(conn, 'INFO', 'replication'),
    ])
    return {address, reachable: true, nodes: parseClusterNodes(String(nodes)), info: parseClusterInfo(String(info)), replication: parseClusterInfo(String(repl))}
  } catch (error) {
    return {address, reachable: false, error: errorMessage(error), nodes: [], info: {}, replication: {}}
  }
}

/** Every node the seeds know of, each asked for its own view. */
export async function readTopology(seeds: string[], password?: string): Promise<Topology> {
  const first = await Promise.all(seeds.map((s) => readNodeView(s, password)))
  const answering = first.find((v) => v.reachable)
  if (!answering) throw failure('REDIS_UNREACHABLE', `no Redis seed node answered (${first.map((v) => `${v.address}: ${v.error}`).join('; ')})`, ['Check redis.nodes in the config.'])
  const known = new Set([...seeds, ...answering.nodes.map((n) => n.address)])
  const more = await Promise.all([...known].filter((a) => !seeds.includes(a)).map((a) => readNodeView(a, password)))
  return topologyOf([...first, ...more])
}

/** A topology from the nodes' views (the first reachable view lists the nodes). Pure. */
export function topologyOf(views: NodeView[]): Topology {
  const answering = views.find((v) => v.reachable)
  const nodes = answering?.nodes ?? []
  return {views, nodes, byAddress: new Map(nodes.map((n) => [n.address, n]))}
}

export const viewOf = (t: Topology, address: string): NodeView | undefined => t.views.find((v) => v.address === address)

/** A node counts as down if it does not answer us or some answering node flags it failing. */
export function isDown(t: Topology, n: ClusterNode): boolean {
  if (viewOf(t, n.address)?.reachable === false) return true
  return t.views.some((v) => v.reachable && v.nodes.some((x) => x.id === n.id && x.failing))
}
