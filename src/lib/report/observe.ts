// The right-sizing report's measurements, read from Prometheus with a few heavy queries per
// namespace (quantile_over_time over subqueries, never one query per pod), then put together per
// workload: pods resolved to their Deployment, StatefulSet, CronJob or DaemonSet through
// kube-state-metrics' owner series, and to their node pool and capacity type through the nodes'
// labels. Usage statistics of a workload are the highest of its pods' (as KRR does).
import type {PromConn, PromMatrix, PromVector} from '../clients/prometheus.js'
import type {Stats, WorkloadUsage} from './rightsizing.js'

/** rateRange: the rate() range of the CPU subquery; 1.5 x its step keeps two samples of a step-spaced series in every window (Prometheus 2 and 3 alike). */
export type RightsizingQuery = {window: number; end: Date; namespaces: string[]; workload?: string; resolution: number; rateRange: number}

/** The PromQL of one namespace, by what it measures. */
export function namespaceQueries(ns: string, q: RightsizingQuery) {
  const sel = `namespace="${ns}",container!="",container!="POD"`
  const w = `${q.window}s`
  const cpu = `sum by (namespace,pod,container) (rate(container_cpu_usage_seconds_total{${sel}}[${q.rateRange}s]))`
  const cpuOver = (f: string) => `${f}((${cpu})[${w}:${q.resolution}s])`
  const mem = `container_memory_working_set_bytes{${sel}}`
  return {
    cpu_p50: `quantile_over_time(0.5, (${cpu})[${w}:${q.resolution}s])`, cpu_p95: `quantile_over_time(0.95, (${cpu})[${w}:${q.resolution}s])`,
    cpu_p99: `quantile_over_time(0.99, (${cpu})[${w}:${q.resolution}s])`, cpu_max: cpuOver('max_over_time'),
    mem_p50: `quantile_over_time(0.5, ${mem}[${w}])`, mem_p95: `quantile_over_time(0.95, ${mem}[${w}])`, mem_p99: `quantile_over_time(0.99, ${mem}[${w}])`, mem_max: `max_over_time(${mem}[${w}])`,
    first_seen: `min_over_time(timestamp(${mem})[${w}:${q.resolution}s])`,
    requests: `max by (namespace,pod,container,resource) (max_over_time(kube_pod_container_resource_requests{namespace="${ns}"}[${w}]))`,
    limits: `max by (namespace,pod,container,resource) (max_over_time(kube_pod_container_resource_limits{namespace="${ns}"}[${w}]))`,
    throttled: `sum by (namespace,pod,container) (increase(container_cpu_cfs_throttled_periods_total{${sel}}[${w}])) / sum by (namespace,pod,container) (increase(container_cpu_cfs_periods_total{${sel}}[${w}]))`,
    oom: `max by (namespace,pod,container) (max_over_time(kube_pod_container_status_last_terminated_reason{namespace="${ns}",reason="OOMKilled"}[${w}]))`,
    restarts: `max by (namespace,pod,container) (increase(kube_pod_container_status_restarts_total{namespace="${ns}"}[${w}]))`,
    pod_owner: `max by (namespace,pod,owner_kind,owner_name) (max_over_time(kube_pod_owner{namespace="${ns}"}[${w}]))`,
    rs_owner: `max by (namespace,replicaset,owner_kind,owner_name) (max_over_time(kube_replicaset_owner{namespace="${ns}"}[${w}]))`,
    job_owner: `max by (namespace,job_name,owner_kind,owner_name) (max_over_time(kube_job_owner{namespace="${ns}"}[${w}]))`,
    pod_node: `max by (namespace,pod,node) (max_over_time(kube_pod_info{namespace="${ns}"}[${w}]))`,
  }
}

/** Hourly P95 per pod over the window, for the charts (range queries). */
export function chartQueries(ns: string, q: RightsizingQuery): Record<'cpu' | 'mem', string> {
  const sel = `namespace="${ns}",container!="",container!="POD"`
  return {
    cpu: `quantile_over_time(0.95, (sum by (namespace,pod,container) (rate(container_cpu_usage_seconds_total{${sel}}[${q.rateRange}s])))[1h:${q.resolution}s])`,
    mem: `quantile_over_time(0.95, container_memory_working_set_bytes{${sel}}[1h])`,
  }
}

export const NODE_QUERY = (window: number) => `max by (node,label_workload,label_eks_amazonaws_com_capacity_type) (max_over_time(kube_node_labels[${window}s]))`

type Key = string
const key = (m: Record<string, string>) => `${m.namespace}/${m.pod}/${m.container}`
const byKey = (v: PromVector) => new Map(v.map((s) => [key(s.metric), Number(s.value[1])]))

export type WorkloadSeries = {namespace: string; name: string; container: string; cpu: [number, number][]; mem: [number, number][]}

export async function observeRightsizing(c: PromConn, q: RightsizingQuery, onNamespace: (ns: string, i: number, n: number) => void = () => undefined): Promise<{usage: WorkloadUsage[]; series: WorkloadSeries[]}> {
  const {instantQuery, rangeQuery} = await import('../clients/prometheus.js')
  const nodes = new Map((await instantQuery(c, NODE_QUERY(q.window), q.end)).map((s) => [s.metric.node, {pool: s.metric.label_workload, spot: /spot/i.test(s.metric.label_eks_amazonaws_com_capacity_type ?? '')}]))
  const usage: WorkloadUsage[] = []
  const series: WorkloadSeries[] = []
  for (const [i, ns] of q.namespaces.entries()) {
    onNamespace(ns, i, q.namespaces.length)
    const qs = namespaceQueries(ns, q)
    const r = Object.fromEntries(await Promise.all(Object.entries(qs).map(async ([k, query]) => [k, await instantQuery(c, query, q.end)] as const))) as Record<keyof typeof qs, PromVector>
    const owners = resolveOwners(r.pod_owner, r.rs_owner, r.job_owner)
    const podNode = new Map(r.pod_node.map((s) => [`${s.metric.namespace}/${s.metric.pod}`, s.metric.node ?? '']))
    const resources = (v: PromVector) => {
      const m = new Map<Key, {cpu?: number; mem?: number}>()
      for (const s of v) {
        const e = m.get(key(s.metric)) ?? {}
        if (s.metric.resource === 'cpu') e.cpu = Number(s.value[1])
        if (s.metric.resource === 'memory') e.mem = Number(s.value[1])
        m.set(key(s.metric), e)
      }
      return m
    }
    const [req, lim] = [resources(r.requests), resources(r.limits)]
    const stats = Object.fromEntries((['cpu_p50', 'cpu_p95', 'cpu_p99', 'cpu_max', 'mem_p50', 'mem_p95', 'mem_p99', 'mem_max', 'first_seen', 'throttled', 'oom', 'restarts'] as const).map((k) => [k, byKey(r[k])]))
    // group the pods' containers by workload
    const groups = new Map<string, {kind: string; name: string; container: string; keys: Key[]}>()
    for (const s of r.mem_max) {
      const o = owners.get(`${s.metric.namespace}/${s.metric.pod}`) ?? {kind: 'Pod', name: s.metric.pod ?? ''}
      if (q.workload && o.name !== q.workload) continue
      const g = `${o.kind}/${o.name}/${s.metric.container}`
      const e = groups.get(g) ?? {kind: o.kind, name: o.name, container: s.metric.container ?? '', keys: []}
      e.keys.push(key(s.metric))
      groups.set(g, e)
    }
    for (const g of groups.values()) {
      const max = (m: Map<Key, number>) => Math.max(0, ...g.keys.map((k) => m.get(k) ?? 0))
      const st = (p: 'cpu' | 'mem'): Stats => ({p50: max(stats[`${p}_p50`]!), p95: max(stats[`${p}_p95`]!), p99: max(stats[`${p}_p99`]!), max: max(stats[`${p}_max`]!)})
      const first = Math.min(...g.keys.map((k) => stats.first_seen!.get(k) ?? Infinity))
      const placed = g.keys.map((k) => nodes.get(podNode.get(k.split('/').slice(0, 2).join('/')) ?? '')).filter(Boolean)
      const pool = mostCommon(placed.map((p) => p!.pool))
      const r0 = req.get(g.keys[0]!) ?? {}
      const l0 = lim.get(g.keys[0]!) ?? {}
      usage.push({namespace: ns, kind: g.kind, name: g.name, container: g.container, pods: g.keys.length, ...(pool ? {pool} : {}), spotShare: placed.length ? placed.filter((p) => p!.spot).length / placed.length : 0,
        cpu: st('cpu'), mem: st('mem'), request: r0, limit: l0, throttledShare: max(stats.throttled!),
        // OOM kills: the restarts of the containers whose last termination was OOMKilled (increase() extrapolates: rounded)
        oomKills: Math.round(sum(g.keys.filter((k) => (stats.oom!.get(k) ?? 0) > 0).map((k) => Math.max(1, stats.restarts!.get(k) ?? 0)))),
        restarts: Math.round(sum(g.keys.map((k) => stats.restarts!.get(k) ?? 0))), coverage: Number.isFinite(first) ? Math.min(1, (q.end.getTime() / 1000 - first) / q.window) : 0})
    }
    // charts: hourly P95 per pod, the highest pod per hour
    const start = new Date(q.end.getTime() - q.window * 1000)
    const cq = chartQueries(ns, q)
    const [cpuM, memM] = await Promise.all([rangeQuery(c, cq.cpu, start, q.end, 3600), rangeQuery(c, cq.mem, start, q.end, 3600)])
    for (const g of groups.values()) {
      series.push({namespace: ns, name: g.name, container: g.container, cpu: maxPerStep(cpuM, g.keys), mem: maxPerStep(memM, g.keys)})
    }
  }
  return {usage, series}
}

function maxPerStep(m: PromMatrix, keys: Key[]): [number, number][] {
  const at = new Map<number, number>()
  for (const s of m) if (keys.includes(key(s.metric))) for (const [t, v] of s.values) at.set(t, Math.max(at.get(t) ?? 0, Number(v)))
  return [...at].sort((a, b) => a[0] - b[0])
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
function mostCommon(xs: (string | undefined)[]): string | undefined {
  const n = new Map<string, number>()
  for (const x of xs) if (x) n.set(x, (n.get(x) ?? 0) + 1)
  return [...n].sort((a, b) => b[1] - a[1])[0]?.[0]
}

/** pod -> its top owner: ReplicaSet -> Deployment, Job -> CronJob, else the direct owner (StatefulSet, DaemonSet, Job). */
export function resolveOwners(pod: PromVector, rs: PromVector, job: PromVector): Map<string, {kind: string; name: string}> {
  const rsOwner = new Map(rs.map((s) => [`${s.metric.namespace}/${s.metric.replicaset}`, {kind: s.metric.owner_kind!, name: s.metric.owner_name!}]))
  const jobOwner = new Map(job.map((s) => [`${s.metric.namespace}/${s.metric.job_name}`, {kind: s.metric.owner_kind!, name: s.metric.owner_name!}]))
  const out = new Map<string, {kind: string; name: string}>()
  for (const s of pod) {
    const k = `${s.metric.namespace}/${s.metric.pod}`
    const direct = {kind: s.metric.owner_kind ?? 'Pod', name: s.metric.owner_name ?? s.metric.pod ?? ''}
    const up = direct.kind === 'ReplicaSet' ? rsOwner.get(`${s.metric.namespace}/${direct.name}`) : direct.kind === 'Job' ? jobOwner.get(`${s.metric.namespace}/${direct.name}`) : undefined
    out.set(k, up && up.kind !== '<none>' ? up : direct)
  }
  return out
}
