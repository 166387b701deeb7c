// The right-sizing report's measurements, read from Prometheus with a few queries per namespace
// (never one per pod): the usage as one range query per metric for all the namespace's pods, the
// rest as instant queries over the window; then put together per
// workload: pods resolved to their Deployment, StatefulSet, CronJob or DaemonSet through
// kube-state-metrics' owner series, and to their node pool and capacity type through the nodes'
// labels. Usage statistics of a workload are the highest of its pods' (as KRR does).
import type {PromConn, PromVector} from '../clients/prometheus.js'
import type {Stats, WorkloadUsage} from './rightsizing.js'

/** rateRange: the rate() range of the CPU subquery; 1.5 x its step keeps two samples of a step-spaced series in every window (Prometheus 2 and 3 alike). */
export type RightsizingQuery = {window: number; end: Date; namespaces: string[]; workload?: string; resolution: number; rateRange: number}

/** The PromQL of one namespace, by what it measures. */
export function namespaceQueries(ns: string, q: RightsizingQuery) {
  const sel = `namespace="${ns}",container!="",container!="POD"`
  const w = `${q.window}s`
  return {
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

/**
 * The usage itself: one range query per metric per namespace at the resolution (all its pods'
 * series in one answer; each sample decoded once), the percentiles computed here. Cheaper than
 * quantile_over_time subqueries, which cost a whole pass over the namespace per percentile.
 */
export function usageQueries(ns: string, q: RightsizingQuery): Record<'cpu' | 'mem', string> {
  const sel = `namespace="${ns}",container!="",container!="POD"`
  return {
    cpu: `sum by (namespace,pod,container) (rate(container_cpu_usage_seconds_total{${sel}}[${q.rateRange}s]))`,
    mem: `max by (namespace,pod,container) (container_memory_working_set_bytes{${sel}})`,
  }
}

/** Prometheus' quantile (linear interpolation between the closest ranks), on sorted values. */
export function quantileSorted(q: number, v: number[]): number {
  if (!v.length) return 0
  const rank = q * (v.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.min(lo + 1, v.length - 1)
  return v[lo]! * (1 - (rank - lo)) + v[hi]! * (rank - lo)
}

const statsOf = (values: number[]): Stats => {
  const v = [...values].sort((a, b) => a - b)
  return {p50: quantileSorted(0.5, v), p95: quantileSorted(0.95, v), p99: quantileSorted(0.99, v), max: v.at(-1) ?? 0}
}

/** Hourly P95 of one series (for the charts). */
function hourly(values: [number, string][]): Map<number, number> {
  const buckets = new Map<number, number[]>()
  for (const [t, x] of values) {
    const h = Math.floor(t / 3600) * 3600
    const b = buckets.get(h) ?? []
    b.push(Number(x))
    buckets.set(h, b)
  }
  return new Map([...buckets].map(([h, xs]) => [h, quantileSorted(0.95, xs.sort((a, b) => a - b))]))
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
  // two namespaces at a time: Prometheus evaluates each query on one core
  let done = 0
  await inBatches(q.namespaces, 2, async (ns) => {
    onNamespace(ns, done++, q.namespaces.length)
    const qs = namespaceQueries(ns, q)
    // a few at a time: each is heavy (a whole namespace over the window), and Prometheus has the cores it has
    const r = Object.fromEntries(await inBatches(Object.entries(qs), QUERY_CONCURRENCY, async ([k, query]) => [k, await instantQuery(c, query, q.end)] as const)) as Record<keyof typeof qs, PromVector>
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
    const stats = Object.fromEntries((['throttled', 'oom', 'restarts'] as const).map((k) => [k, byKey(r[k])]))
    const start = new Date(q.end.getTime() - q.window * 1000)
    const uq = usageQueries(ns, q)
    const [cpuM, memM] = await Promise.all([rangeQuery(c, uq.cpu, start, q.end, q.resolution), rangeQuery(c, uq.mem, start, q.end, q.resolution)])
    const cpuBy = new Map(cpuM.map((s) => [key(s.metric), s.values]))
    const memBy = new Map(memM.map((s) => [key(s.metric), s.values]))
    const grid = Math.floor(q.window / q.resolution) + 1
    // group the pods' containers by workload
    const groups = new Map<string, {kind: string; name: string; container: string; keys: Key[]}>()
    for (const s of memM) {
      const o = owners.get(`${s.metric.namespace}/${s.metric.pod}`) ?? {kind: 'Pod', name: s.metric.pod ?? ''}
      if (q.workload && o.name !== q.workload) continue
      const g = `${o.kind}/${o.name}/${s.metric.container}`
      const e = groups.get(g) ?? {kind: o.kind, name: o.name, container: s.metric.container ?? '', keys: []}
      e.keys.push(key(s.metric))
      groups.set(g, e)
    }
    for (const g of groups.values()) {
      const max = (m: Map<Key, number>) => Math.max(0, ...g.keys.map((k) => m.get(k) ?? 0))
      // a workload's figures are the highest of its pods'
      const st = (by: Map<Key, [number, string][]>): Stats => {
        const per = g.keys.map((k) => statsOf((by.get(k) ?? []).map((x) => Number(x[1]))))
        return {p50: Math.max(0, ...per.map((x) => x.p50)), p95: Math.max(0, ...per.map((x) => x.p95)), p99: Math.max(0, ...per.map((x) => x.p99)), max: Math.max(0, ...per.map((x) => x.max))}
      }
      // coverage: the share of the window's steps that have a sample (new workloads and gaps alike)
      const coverage = Math.max(0, ...g.keys.map((k) => (memBy.get(k)?.length ?? 0) / grid))
      const placed = g.keys.map((k) => nodes.get(podNode.get(k.split('/').slice(0, 2).join('/')) ?? '')).filter(Boolean)
      const pool = mostCommon(placed.map((p) => p!.pool))
      const r0 = req.get(g.keys[0]!) ?? {}
      const l0 = lim.get(g.keys[0]!) ?? {}
      usage.push({namespace: ns, kind: g.kind, name: g.name, container: g.container, pods: g.keys.length, ...(pool ? {pool} : {}), spotShare: placed.length ? placed.filter((p) => p!.spot).length / placed.length : 0,
        cpu: st(cpuBy), mem: st(memBy), request: r0, limit: l0, throttledShare: max(stats.throttled!),
        // OOM kills: the restarts of the containers whose last termination was OOMKilled (increase() extrapolates: rounded)
        oomKills: Math.round(sum(g.keys.filter((k) => (stats.oom!.get(k) ?? 0) > 0).map((k) => Math.max(1, stats.restarts!.get(k) ?? 0)))),
        restarts: Math.round(sum(g.keys.map((k) => stats.restarts!.get(k) ?? 0))), coverage: Math.min(1, coverage)})
      // charts: hourly P95 of each pod, the highest pod per hour
      const chart = (by: Map<Key, [number, string][]>) => {
        const at = new Map<number, number>()
        for (const k of g.keys) for (const [h, v] of hourly(by.get(k) ?? [])) at.set(h, Math.max(at.get(h) ?? 0, v))
        return [...at].sort((a, b) => a[0] - b[0])
      }
      series.push({namespace: ns, name: g.name, container: g.container, cpu: chart(cpuBy), mem: chart(memBy)})
    }
  })
  // the namespaces' order, whatever order they finished in
  usage.sort((a, b) => q.namespaces.indexOf(a.namespace) - q.namespaces.indexOf(b.namespace))
  return {usage, series}
}

export const QUERY_CONCURRENCY = 3

async function inBatches<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({length: Math.min(n, items.length)}, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }))
  return out
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
