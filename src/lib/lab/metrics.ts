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
}

const Gi = 1024 ** 3
const Mi = 1024 ** 2

export const VAULT_WORKLOADS: Workload[] = [
  {namespace: 'llm-vault-prod', name: 'vault-gateway', container: 'gateway', replicas: 3, cpuRequest: 0.5, cpuLimit: 1, memRequest: 1 * Gi, memLimit: 2 * Gi, cpuUse: 0.35, memUse: 0.45},
  {namespace: 'llm-vault-prod', name: 'vault-api', container: 'api', replicas: 3, cpuRequest: 1, cpuLimit: 2, memRequest: 2 * Gi, memLimit: 4 * Gi, cpuUse: 0.55, memUse: 0.6},
  {namespace: 'llm-vault-prod', name: 'vault-worker', container: 'worker', replicas: 4, cpuRequest: 2, cpuLimit: 4, memRequest: 4 * Gi, memLimit: 8 * Gi, cpuUse: 0.7, memUse: 0.55},
  {namespace: 'llm-vault-prod', name: 'vault-audit-logger', container: 'audit-logger', replicas: 2, cpuRequest: 0.5, cpuLimit: 1, memRequest: 1 * Gi, memLimit: 2 * Gi, cpuUse: 0.2, memUse: 0.3},
  {namespace: 'llm-vault-data', name: 'postgres', container: 'postgres', replicas: 3, cpuRequest: 2, cpuLimit: 4, memRequest: 8 * Gi, memLimit: 16 * Gi, cpuUse: 0.4, memUse: 0.7},
  {namespace: 'llm-vault-data', name: 'redis', container: 'redis', replicas: 6, cpuRequest: 1, cpuLimit: 2, memRequest: 4 * Gi, memLimit: 8 * Gi, cpuUse: 0.15, memUse: 0.5},
  {namespace: 'llm-vault-data', name: 'pgbouncer', container: 'pgbouncer', replicas: 2, cpuRequest: 0.5, cpuLimit: 1, memRequest: 512 * Mi, memLimit: 1 * Gi, cpuUse: 0.1, memUse: 0.2},
]

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

export type GenerateOptions = {end: Date; days: number; stepSeconds: number; seed?: number; workloads?: Workload[]}

const podName = (w: Workload, i: number) => `${w.name}-${i}`

/** Lines of OpenMetrics text, ending with # EOF. Generated lazily so large ranges stay small in memory. */
export function* generateOpenMetrics(opts: GenerateOptions): Generator<string> {
  const workloads = opts.workloads ?? VAULT_WORKLOADS
  const endS = Math.floor(opts.end.getTime() / 1000 / opts.stepSeconds) * opts.stepSeconds
  const points = Math.floor((opts.days * 86_400) / opts.stepSeconds)
  const startS = endS - (points - 1) * opts.stepSeconds
  const seed = opts.seed ?? 42
  const pods = workloads.flatMap((w) => Array.from({length: w.replicas}, (_, i) => ({w, pod: podName(w, i)})))
  const labels = (w: Workload, pod: string, extra = '') => `{namespace="${w.namespace}",pod="${pod}",container="${w.container}"${extra}}`

  yield '# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.'
  yield '# TYPE container_cpu_usage_seconds_total counter'
  for (const {w, pod} of pods) {
    const rnd = prng(seed ^ hash(pod + ':cpu'))
    let total = 0
    for (let k = 0; k < points; k++) {
      const t = startS + k * opts.stepSeconds
      const daily = Math.sin(((t % 86_400) / 86_400) * 2 * Math.PI - Math.PI / 2) // low at night UTC
      const cores = Math.min(w.cpuLimit, Math.max(0.001, w.cpuRequest * w.cpuUse * (1 + 0.5 * daily + 0.25 * (rnd() - 0.5))))
      if (k > 0) total += cores * opts.stepSeconds
      yield `container_cpu_usage_seconds_total${labels(w, pod)} ${total.toFixed(3)} ${t}`
    }
  }
  yield '# HELP container_memory_working_set_bytes Current working set in bytes.'
  yield '# TYPE container_memory_working_set_bytes gauge'
  for (const {w, pod} of pods) {
    const rnd = prng(seed ^ hash(pod + ':mem'))
    for (let k = 0; k < points; k++) {
      const t = startS + k * opts.stepSeconds
      const daily = Math.sin(((t % 86_400) / 86_400) * 2 * Math.PI)
      const bytes = Math.min(w.memLimit, w.memRequest * w.memUse * (1 + 0.15 * daily + 0.1 * (rnd() - 0.5)))
      yield `container_memory_working_set_bytes${labels(w, pod)} ${Math.round(bytes)} ${t}`
    }
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
        for (let k = 0; k < points; k++) yield `${metric}${labels(w, pod, extra)} ${value} ${startS + k * opts.stepSeconds}`
      }
    }
  }
  yield '# EOF'
}
