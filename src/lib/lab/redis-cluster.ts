// Forms the lab's Redis Cluster over the Redis protocol (what `redis-cli --cluster create` does):
// MEET, slots to the three masters, then each replica REPLICATEs its master.
import {redisCommand, type RedisConn} from '../clients/redis.js'
import {parseClusterInfo, parseClusterNodes} from '../redis/cluster.js'
import {waitUntil} from '../wait.js'

const SLOT_RANGES: [number, number][] = [[0, 5460], [5461, 10_922], [10_923, 16_383]]

async function nodeId(c: RedisConn): Promise<string> {
  return String(await redisCommand(c, 'CLUSTER', 'MYID'))
}

/** The one wait helper, with this file's probes answering true when done. */
const until = (what: string, timeoutMs: number, fn: () => Promise<boolean>, signal?: AbortSignal) =>
  waitUntil({what, timeoutMs, intervalMs: 100, maxIntervalMs: 200, signal, code: 'LAB_NOT_READY'}, async () => ((await fn()) ? {done: true, value: true} : {done: false, status: `not yet: ${what}`}))

/** Is the cluster already formed with every node in it? */
export async function clusterFormed(nodes: RedisConn[]): Promise<boolean> {
  try {
    const info = parseClusterInfo(String(await redisCommand(nodes[0]!, 'CLUSTER', 'INFO')))
    return info.cluster_state === 'ok' && Number(info.cluster_known_nodes) === nodes.length && Number(info.cluster_slots_assigned) === 16_384
  } catch {
    return false
  }
}

/** masters = first three nodes, replicas = the other three (replica i follows master i). */
export async function createCluster(nodes: RedisConn[], timeoutMs = 30_000, signal?: AbortSignal): Promise<void> {
  const masters = nodes.slice(0, 3)
  const replicas = nodes.slice(3)
  for (const n of nodes.slice(1)) await redisCommand(nodes[0]!, 'CLUSTER', 'MEET', n.host, n.port)
  for (const [k, m] of masters.entries()) {
    const [from, to] = SLOT_RANGES[k]!
    const mine = parseClusterNodes(String(await redisCommand(m, 'CLUSTER', 'NODES'))).find((x) => x.myself)
    if ((mine?.slots.length ?? 0) === 0) await redisCommand(m, 'CLUSTER', 'ADDSLOTSRANGE', from, to)
  }
  await until('every node to know all the others', timeoutMs, async () => {
    for (const n of nodes) {
      const view = parseClusterNodes(String(await redisCommand(n, 'CLUSTER', 'NODES')))
      if (view.length !== nodes.length || view.some((v) => v.flags.includes('handshake') || v.flags.includes('noaddr'))) return false
    }
    return true
  }, signal)
  for (const [k, r] of replicas.entries()) {
    const masterId = await nodeId(masters[k]!)
    await redisCommand(r, 'CLUSTER', 'REPLICATE', masterId)
  }
  await waitClusterHealthy(nodes, timeoutMs, signal)
}

/** Every node says cluster_state:ok and every replica's link to its master is up. */
export async function waitClusterHealthy(nodes: RedisConn[], timeoutMs = 30_000, signal?: AbortSignal): Promise<void> {
  await until('cluster_state:ok on every node with all replicas linked', timeoutMs, async () => {
    for (const n of nodes) {
      const info = parseClusterInfo(String(await redisCommand(n, 'CLUSTER', 'INFO')))
      if (info.cluster_state !== 'ok' || Number(info.cluster_slots_ok) !== 16_384) return false
      const repl = String(await redisCommand(n, 'INFO', 'replication'))
      if (/role:slave/.test(repl) && !/master_link_status:up/.test(repl)) return false
    }
    const view = parseClusterNodes(String(await redisCommand(nodes[0]!, 'CLUSTER', 'NODES')))
    return view.filter((v) => v.role === 'replica').length === nodes.length - 3
  }, signal)
}
