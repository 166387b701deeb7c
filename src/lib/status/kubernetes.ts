// The cluster the vault runs on: nodes by pool and zone, the vault namespaces' workloads (ready /
// desired), PodDisruptionBudget headroom, and Velero's newest completed backup against the RPO
// (architecture 8.1: Kubernetes RPO 24 h, daily backups).
import {veleroNamespaceOf} from '../velero/restore.js'
import type {Environment} from '../config/schema.js'
import type {ClusterView} from '../clients/kube.js'
import {errorMessage} from '../errors.js'
import {clusterOf} from '../kube/cluster.js'
import {formatDuration} from '../units.js'
import type {Rating, StatusRow} from './types.js'

const row = (name: string, role: string, state: string, rating: Rating, detail: string, facts?: Record<string, unknown>): StatusRow =>
  ({component: 'kubernetes', name, role, state, rating, detail, ...(facts ? {facts} : {})})

/** A node's pool: vaultctl's lab label, EKS's node group, or the workload label the architecture gives each group. */
const poolOf = (labels: Record<string, string>) => labels['vaultctl.io/pool'] ?? labels['eks.amazonaws.com/nodegroup'] ?? labels.workload ?? '(no pool)'

export function rateCluster(v: ClusterView, rpoSeconds: number, now: Date): StatusRow[] {
  const rows: StatusRow[] = []
  const pools = new Map<string, ClusterView['nodes']>()
  for (const n of v.nodes) pools.set(poolOf(n.labels), [...(pools.get(poolOf(n.labels)) ?? []), n])
  for (const [pool, nodes] of [...pools].sort(([a], [b]) => a.localeCompare(b))) {
    const ready = nodes.filter((n) => n.ready)
    const zones = [...new Set(ready.map((n) => n.labels['topology.kubernetes.io/zone'] ?? '?'))].sort()
    const rating: Rating = ready.length === 0 ? 'crit' : ready.length < nodes.length || zones.length < 2 ? 'warn' : 'ok'
    rows.push(row(pool, 'node pool', `${ready.length}/${nodes.length} Ready`, rating,
      `${zones.length ? `zones ${zones.join(', ')}` : 'no Ready node'}${zones.length === 1 ? ': a single zone, no zone redundancy' : ''}${ready.length < nodes.length ? `; not Ready: ${nodes.filter((n) => !n.ready).map((n) => n.name).join(', ')}` : ''}`,
      {nodes: nodes.length, ready: ready.length, zones}))
  }
  if (!v.nodes.length) rows.push(row('nodes', 'node pool', '0 nodes', 'crit', 'the cluster has no nodes'))
  for (const w of v.workloads) {
    const rating: Rating = w.desired > 0 && w.ready === 0 ? 'crit' : w.ready < w.desired ? 'warn' : 'ok'
    rows.push(row(`${w.namespace}/${w.name}`, w.kind, `${w.ready}/${w.desired} ready`, rating, rating === 'ok' ? 'all replicas ready' : `${w.desired - w.ready} replica(s) not ready`, {desired: w.desired, ready: w.ready}))
  }
  for (const p of v.pdbs) {
    rows.push(row(`${p.namespace}/${p.name}`, 'PodDisruptionBudget', `${p.allowed} disruption(s) allowed`, p.allowed > 0 ? 'ok' : 'warn',
      p.allowed > 0 ? `${p.healthy} healthy, ${p.desiredHealthy} needed` : `no headroom: ${p.healthy} healthy, ${p.desiredHealthy} needed; a node drain would block`, {allowed: p.allowed}))
  }
  if (!v.backups) {
    rows.push(row('velero', 'backups', 'not installed', 'crit', 'Velero\'s CRDs are not in the cluster: no cluster backups (architecture 8.1: daily, RPO 24 h)'))
  } else {
    const done = v.backups.filter((b) => b.phase === 'Completed' && b.completedAt && (!b.expiresAt || new Date(b.expiresAt) > now))
      .sort((a, b) => b.completedAt!.localeCompare(a.completedAt!))
    const last = done[0]
    const age = last ? (now.getTime() - new Date(last.completedAt!).getTime()) / 1000 : undefined
    // failures since the last completed backup (an old failure that a later backup made good is history)
    const failed = v.backups.filter((b) => /Failed/.test(b.phase) && (!last || new Date(b.createdAt ?? b.completedAt ?? 0).getTime() > new Date(last.completedAt!).getTime())).length
    rows.push(row('velero', 'backups', last ? `last completed ${formatDuration(Math.round(age!))} ago` : 'no completed backup',
      age === undefined || age > rpoSeconds ? 'crit' : failed ? 'warn' : 'ok',
      `${last ? `${last.name}${last.schedule ? ` (schedule ${last.schedule})` : ''}` : 'none usable'}; RPO ${formatDuration(rpoSeconds)}; ${v.backups.length} backup(s), ${failed} failed since`,
      {lastCompleted: last?.completedAt ?? null, ageSeconds: age ?? null, backups: v.backups.length, failed}))
  }
  return rows
}

export async function kubernetesStatus(env: Environment): Promise<StatusRow[]> {
  const cluster = clusterOf(env)
  if (!cluster) return []
  const {clusterView, kubeConfig} = await import('../clients/kube.js')
  try {
    const kc = await kubeConfig(cluster.kubeconfig, cluster.context)
    const view = await clusterView(kc, [...new Set(Object.values(env.kubernetes?.namespaces ?? {}))], veleroNamespaceOf(env))
    return rateCluster(view, env.slo.rpo.kubernetes, new Date())
  } catch (error) {
    return [row('api-server', 'cluster', 'unreachable', 'crit', errorMessage(error))]
  }
}

