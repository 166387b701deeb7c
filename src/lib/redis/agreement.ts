// When is a Redis Cluster failover done? When every reachable node says so. Pure: the executor's
// wait and the tests use it on observed topologies.
import type {Topology} from './topology.js'

/** True when every reachable node says `replica` is master with the old master's slots, and the old master (if up) follows it. */
export function agreement(t: Topology, replicaId: string, oldMasterId: string, slots: number): {ok: boolean; why: string} {
  for (const v of t.views.filter((x) => x.reachable)) {
    const nm = v.nodes.find((n) => n.id === replicaId)
    if (!nm || nm.role !== 'master' || nm.slotCount !== slots) return {ok: false, why: `${v.address} sees ${nm ? `${nm.role} with ${nm.slotCount} slots` : 'no such node'}`}
    const om = v.nodes.find((n) => n.id === oldMasterId)
    const oldUp = t.views.find((x) => x.nodes.some((n) => n.myself && n.id === oldMasterId))?.reachable
    if (oldUp && (!om || om.role !== 'replica' || om.masterId !== replicaId)) return {ok: false, why: `${v.address} sees the old master as ${om?.role ?? 'missing'}`}
    if (v.info.cluster_state !== 'ok' || Number(v.info.cluster_slots_ok) !== 16_384) return {ok: false, why: `${v.address}: cluster_state ${v.info.cluster_state}, ${v.info.cluster_slots_ok} slots ok`}
  }
  return {ok: true, why: 'all agree'}
}
