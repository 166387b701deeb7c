// A deterministic generator of container CPU and memory metrics for the vault's workloads
// (architecture 3.2 sizing), in OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
// Same end time and seed in, same bytes out: right-sizing tests can assert exact percentiles.

export type Workload = {
  namespace: string
  name: string
  container: string
  replicas: number
  cpuRequest: number // cores
  cpuLimit: number
  memRequest: number // bytes
  memLimit: number
  /** Typical use as a fraction of request: mean and daily swing. */
  cpuUse: number
  memUse: number
  /** What owns the pods (kube-state-metrics owner series): default Deployment. */
  kind?: 'Deployment' | 'StatefulSet' | 'CronJob'
  /** The node pool its pods run on (architecture 3.3); default by namespace. */
  pool?: 'api' | 'worker' | 'data'
  /** Spikes: one sample in `burstEvery` is `burst` times the usual CPU (capped at the limit). */
  burst?: number
  burstEvery?: number
  /** Fraction of CFS periods throttled. */
  throttled?: number
  /** OOM kills over the window (restarts, last terminated reason OOMKilled). */
  oomKills?: number
  /** Only this many days of data (a new workload). */
  daysOfData?: number
}

const Gi = 1024 ** 3
const Mi = 1024 ** 2

export const VAULT_WORKLOADS: Workload[] = [
  {namespace: 'llm-vault-prod', name: 'vault-gateway', container: 'gateway', replicas: 3, cpuRequest: 0.5, cpuLimit: 1, memRequest: 1 * Gi, memLimit: 2 * Gi, cpuUse: 0.35, memUse: 0.45},
  {namespace: 'llm-vault-prod', name: 'vault-api', container: 'api', replicas: 3, cpuRequest: 1, cpuLimit: 2, memRequest: 2 * Gi, memLimit: 4 * Gi, cpuUse: 0.45, memUse: 0.6},
  {namespace: 'llm-vault-prod', name: 'vault-worker', container: 'worker', replicas: 4, cpuRequest: 2, cpuLimit: 4, memRequest: 4 * Gi, memLimit: 8 * Gi, cpuUse: 0.7, memUse: 0.55},
  {namespace: 'llm-vault-prod', name: 'vault-audit-logger', container: 'audit-logger', replicas: 2, cpuRequest: 0.5, cpuLimit: 1, memRequest: 1 * Gi, memLimit: 2 * Gi, cpuUse: 0.2, memUse: 0.3},
  {namespace: 'llm-vault-data', name: 'postgres', container: 'postgres', replicas: 3, cpuRequest: 2, cpuLimit: 4, memRequest: 8 * Gi, memLimit: 16 * Gi, cpuUse: 0.4, memUse: 0.7},
  {namespace: 'llm-vault-data', name: 'redis', container: 'redis', replicas: 6, cpuRequest: 1, cpuLimit: 2, memRequest: 4 * Gi, memLimit: 8 * Gi, cpuUse: 0.15, memUse: 0.5},
  {namespace: 'llm-vault-data', name: 'pgbouncer', container: 'pgbouncer', replicas: 2, cpuRequest: 0.5, cpuLimit: 1, memRequest: 512 * Mi, memLimit: 1 * Gi, cpuUse: 0.1, memUse: 0.2},
  // patterns for each right-sizing rule (architecture 10.1)
  {namespace: 'llm-vault-prod', name: 'vault-search', container: 'search', replicas: 2, cpuRequest: 0.5, cpuLimit: 1, memRequest: 1 * Gi, memLimit: 2 * Gi, cpuUse: 1.2, memUse: 1.7},
  {namespace: 'llm-vault-prod', name: 'vault-indexer', container: 'indexer', replicas: 2, cpuRequest: 1, cpuLimit: 2, memRequest: 2 * Gi, memLimit: 3 * Gi, cpuUse: 0.5, memUse: 1.2, oomKills: 3},
  {namespace: 'llm-vault-prod', name: 'vault-embedder', container: 'embedder', replicas: 2, cpuRequest: 2, cpuLimit: 4, memRequest: 4 * Gi, memLimit: 8 * Gi, cpuUse: 0.2, memUse: 0.2, daysOfData: 2},
  {namespace: 'llm-vault-jobs', name: 'vault-pii-scanner', container: 'pii-scanner', replicas: 2, cpuRequest: 2, cpuLimit: 4, memRequest: 8 * Gi, memLimit: 16 * Gi, cpuUse: 0.15, memUse: 0.3, kind: 'CronJob', pool: 'worker', burst: 12, burstEvery: 48},
]

/** Where pods run: the pool's nodes in zones a, b, c (worker b and c are Spot, as in the architecture's 10.2). */
export const poolOf = (w: Workload): 'api' | 'worker' | 'data' => w.pool ?? (w.namespace === 'llm-vault-data' ? 'data' : w.name === 'vault-worker' ? 'worker' : 'api')
export const nodeOf = (w: Workload, i: number) => `lab-${poolOf(w)}-${'abc'[i % 3]}`
export const LAB_NODES = ['api', 'worker', 'data'].flatMap((p) => ['a', 'b', 'c'].map((z) => ({node: `lab-${p}-${z}`, pool: p, capacityType: p === 'worker' && z !== 'a' ? 'SPOT' : 'ON_DEMAND'})))

/** The vault-worker's throttling in the lab: a CPU-bound worker (architecture 3.2). */
const DEFAULTS: Partial<Record<string, Partial<Workload>>> = {'vault-worker': {throttled: 0.3}}
export const withDefaults = (w: Workload): Workload => ({...DEFAULTS[w.name], ...w})

/** mulberry32: a tiny, well-known seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function hash(s: string): number {
  let h = 2_166_136_261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16_777_619)
  return h >>> 0
}

export type GenerateOptions = {end: Date; days: number; stepSeconds: number; seed?: number; workloads?: Workload[]
  /** the step of the series that hardly change (requests, limits, owners, placement, CFS, restarts): default stepSeconds */
  slowStepSeconds?: number}

/** A synthetic fleet of n workloads (the benchmark's): the vault's patterns over and over, one pod each, in 5 namespaces. */
export function fleet(n: number): Workload[] {
  return Array.from({length: n}, (_, i) => {
    const w = VAULT_WORKLOADS[i % VAULT_WORKLOADS.length]!
    return {...w, namespace: `fleet-${i % 5}`, name: `${w.name}-${i}`, replicas: 1, kind: w.kind ?? (w.namespace === 'llm-vault-data' ? 'StatefulSet' : 'Deployment'), pool: poolOf(w)}
  })
}

export const podName = (w: Workload, i: number) => `${w.name}-${i}`

/** The sample times of a run: aligned to the step, ending at `end`. */
export function sampleTimes(o: GenerateOptions): number[] {
  const endS = Math.floor(o.end.getTime() / 1000 / o.stepSeconds) * o.stepSeconds
  const points = Math.floor((o.days * 86_400) / o.stepSeconds)
  return Array.from({length: points}, (_, k) => endS - (points - 1 - k) * o.stepSeconds)
}

/** One pod's CPU use (cores per step, from its second sample) and cumulative counter, at the times it has data. */
export function cpuSamples(w0: Workload, pod: string, o: GenerateOptions): {t: number[]; cores: number[]; counter: number[]} {
  const w = withDefaults(w0)
  const rnd = prng((o.seed ?? 42) ^ hash(pod + ':cpu'))
  const times = sampleTimes(o)
  const from = w.daysOfData ? times.at(-1)! - w.daysOfData * 86_400 : -Infinity
  const out = {t: [] as number[], cores: [] as number[], counter: [] as number[]}
  let total = 0
  times.forEach((t, k) => {
    const daily = Math.sin(((t % 86_400) / 86_400) * 2 * Math.PI - Math.PI / 2) // low at night UTC
    const spike = w.burst && k % (w.burstEvery ?? 12) === 0 ? w.burst : 1
    const cores = Math.min(w.cpuLimit, Math.max(0.001, w.cpuRequest * w.cpuUse * spike * (1 + 0.5 * daily + 0.25 * (rnd() - 0.5))))
    if (t <= from) return
    if (out.t.length > 0) total += cores * o.stepSeconds
    out.t.push(t)
    out.cores.push(cores)
    out.counter.push(Number(total.toFixed(3)))
  })
  return out
}

/** One pod's memory working set at the times it has data. */
export function memSamples(w0: Workload, pod: string, o: GenerateOptions): {t: number[]; bytes: number[]} {
  const w = withDefaults(w0)
  const rnd = prng((o.seed ?? 42) ^ hash(pod + ':mem'))
  const times = sampleTimes(o)
  const from = w.daysOfData ? times.at(-1)! - w.daysOfData * 86_400 : -Infinity
  const out = {t: [] as number[], bytes: [] as number[]}
  for (const t of times) {
    const daily = Math.sin(((t % 86_400) / 86_400) * 2 * Math.PI)
    const bytes = Math.round(Math.min(w.memLimit, w.memRequest * w.memUse * (1 + 0.15 * daily + 0.1 * (rnd() - 0.5))))
    if (t <= from) continue
    out.t.push(t)
    out.bytes.push(bytes)
  }
  return out
}

/** A pod's OOM kills: the workload's spread over its pods, pod 0 first. */
export const oomKillsOf = (w: Workload, i: number) => Math.floor((w.oomKills ?? 0) / w.replicas) + (i < (w.oomKills ?? 0) % w.replicas ? 1 : 0)

const owner = (w: Workload) => (w.kind === 'StatefulSet' || (w.kind === undefined && w.namespace === 'llm-vault-data') ? {kind: 'StatefulSet', name: w.name}
  : w.kind === 'CronJob' ? {kind: 'Job', name: `${w.name}-29400000`} : {kind: 'ReplicaSet', name: `${w.name}-6d5f8c`})

/** Lines of OpenMetrics text, ending with # EOF. Generated lazily so large ranges stay small in memory. */
export function* generateOpenMetrics(opts: GenerateOptions): Generator<string> {
  const workloads = (opts.workloads ?? VAULT_WORKLOADS).map(withDefaults)
  const times = sampleTimes(opts)
  const pods = workloads.flatMap((w) => Array.from({length: w.replicas}, (_, i) => ({w, i, pod: podName(w, i)})))
  const labels = (w: Workload, pod: string, extra = '') => `{namespace="${w.namespace}",pod="${pod}",container="${w.container}"${extra}}`
  const series = function* (name: string, lbl: string, at: number[], value: (k: number) => number | string) {
    for (let k = 0; k < at.length; k++) yield `${name}${lbl} ${value(k)} ${at[k]}`
  }
  const slow = opts.slowStepSeconds ? sampleTimes({...opts, stepSeconds: opts.slowStepSeconds}) : times
  const dataTimes = (w: Workload) => (w.daysOfData ? slow.filter((t) => t > slow.at(-1)! - w.daysOfData! * 86_400) : slow)

  yield '# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.'
  yield '# TYPE container_cpu_usage_seconds_total counter'
  for (const {w, pod} of pods) {
    const c = cpuSamples(w, pod, opts)
    yield* series('container_cpu_usage_seconds_total', labels(w, pod), c.t, (k) => c.counter[k]!.toFixed(3))
  }
  yield '# HELP container_memory_working_set_bytes Current working set in bytes.'
  yield '# TYPE container_memory_working_set_bytes gauge'
  for (const {w, pod} of pods) {
    const m = memSamples(w, pod, opts)
    yield* series('container_memory_working_set_bytes', labels(w, pod), m.t, (k) => m.bytes[k]!)
  }
  // CFS: 10 periods a second; the throttled ones a fixed share (0 for most)
  for (const [metric, help, share] of [['container_cpu_cfs_periods_total', 'Number of elapsed enforcement period intervals.', () => 1],
    ['container_cpu_cfs_throttled_periods_total', 'Number of throttled period intervals.', (w: Workload) => w.throttled ?? 0]] as const) {
    yield `# HELP ${metric} ${help}`
    yield `# TYPE ${metric} counter`
    for (const {w, pod} of pods) {
      const at = dataTimes(w)
      yield* series(metric, labels(w, pod), at, (k) => Math.round(k * (opts.slowStepSeconds ?? opts.stepSeconds) * 10 * share(w)))
    }
  }
  yield '# HELP kube_pod_container_status_restarts_total The number of container restarts per container.'
  yield '# TYPE kube_pod_container_status_restarts_total counter'
  for (const {w, pod, i} of pods) {
    const at = dataTimes(w)
    const kills = oomKillsOf(w, i)
    yield* series('kube_pod_container_status_restarts_total', labels(w, pod), at, (k) => Math.floor((kills * (k + 1)) / at.length))
  }
  yield '# HELP kube_pod_container_status_last_terminated_reason Describes the last reason the container was in terminated state.'
  yield '# TYPE kube_pod_container_status_last_terminated_reason gauge'
  for (const {w, pod, i} of pods) {
    if (oomKillsOf(w, i) === 0) continue
    yield* series('kube_pod_container_status_last_terminated_reason', labels(w, pod, ',reason="OOMKilled"'), dataTimes(w), () => 1)
  }
  for (const [metric, help, pick] of [
    ['kube_pod_container_resource_requests', 'Requested resources by a container.', (w: Workload) => [w.cpuRequest, w.memRequest]],
    ['kube_pod_container_resource_limits', 'Resource limits of a container.', (w: Workload) => [w.cpuLimit, w.memLimit]],
  ] as const) {
    yield `# HELP ${metric} ${help}`
    yield `# TYPE ${metric} gauge`
    for (const {w, pod} of pods) {
      const [cpu, mem] = pick(w)
      for (const [extra, value] of [[',resource="cpu",unit="core"', cpu], [',resource="memory",unit="byte"', mem]] as const) {
        // one series' samples stay together, in time order
        yield* series(metric, labels(w, pod, extra), dataTimes(w), () => value as number)
      }
    }
  }
  // kube-state-metrics' owner chain and placement: pod -> ReplicaSet/Job -> Deployment/CronJob, or StatefulSet; pod -> node -> pool, capacity type
  yield '# HELP kube_pod_owner Information about the Pod\'s owner.'
  yield '# TYPE kube_pod_owner gauge'
  for (const {w, pod} of pods) {
    const o = owner(w)
    yield* series('kube_pod_owner', `{namespace="${w.namespace}",pod="${pod}",owner_kind="${o.kind}",owner_name="${o.name}",owner_is_controller="true"}`, dataTimes(w), () => 1)
  }
  for (const [metric, key, kind, parent] of [['kube_replicaset_owner', 'replicaset', 'ReplicaSet', 'Deployment'], ['kube_job_owner', 'job_name', 'Job', 'CronJob']] as const) {
    yield `# HELP ${metric} Information about the ${kind}'s owner.`
    yield `# TYPE ${metric} gauge`
    for (const w of workloads.filter((x) => owner(x).kind === kind)) {
      yield* series(metric, `{namespace="${w.namespace}",${key}="${owner(w).name}",owner_kind="${parent}",owner_name="${w.name}",owner_is_controller="true"}`, dataTimes(w), () => 1)
    }
  }
  yield '# HELP kube_pod_info Information about pod.'
  yield '# TYPE kube_pod_info gauge'
  for (const {w, pod, i} of pods) yield* series('kube_pod_info', `{namespace="${w.namespace}",pod="${pod}",node="${nodeOf(w, i)}"}`, dataTimes(w), () => 1)
  yield '# HELP kube_node_labels Kubernetes labels converted to Prometheus labels.'
  yield '# TYPE kube_node_labels gauge'
  for (const n of LAB_NODES) yield* series('kube_node_labels', `{node="${n.node}",label_workload="${n.pool}",label_eks_amazonaws_com_capacity_type="${n.capacityType}"}`, slow, () => 1)
  yield '# EOF'
}
