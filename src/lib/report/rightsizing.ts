// Right-sizing by the architecture's methodology (its 10.1), pure: from each workload's measured
// usage (P50/P95/P99/max over the window), requests, limits, throttling and OOM kills to a class,
// a recommendation with its reasons, and the monthly cost now and after (prices per vCPU and GiB
// derived from the node pools' instance prices, Spot pools priced as Spot).
import type {Environment} from '../config/schema.js'

export type Stats = {p50: number; p95: number; p99: number; max: number}
export type WorkloadUsage = {
  namespace: string
  kind: string
  name: string
  container: string
  pods: number
  /** the node pool its pods ran on, and the share of them on Spot capacity */
  pool?: string
  spotShare: number
  cpu: Stats
  mem: Stats
  request: {cpu?: number; mem?: number}
  limit: {cpu?: number; mem?: number}
  throttledShare: number
  oomKills: number
  restarts: number
  /** the share of the window the samples cover */
  coverage: number
}

export type Thresholds = Environment['rightsizing']
export type Class = 'over-provisioned' | 'under-provisioned' | 'well-sized' | 'in-between' | 'bursty' | 'insufficient-data'
export type Resources = {request?: number; limit?: number}
export type Recommendation = {
  workload: WorkloadUsage
  class: Class
  /** per resource: its class and why */
  cpu: {class: Class; reason: string; now: Resources; after: Resources}
  mem: {class: Class; reason: string; now: Resources; after: Resources}
  changed: boolean
  cost: {now: number; after: number; savings: number}
}

const Mi = 1024 ** 2
const Gi = 1024 ** 3

/** CPU in cores to millicores, rounded to 50m (at least 50m). */
export const roundCpu = (cores: number, mode: 'nearest' | 'up' = 'nearest') => Math.max(0.05, (mode === 'up' ? Math.ceil(cores * 20 - 1e-9) : Math.round(cores * 20)) / 20)
/** Memory to a sensible step: 64Mi below 512Mi, 128Mi below 2Gi, 512Mi above. */
export function roundMem(bytes: number, mode: 'nearest' | 'up' = 'nearest'): number {
  const step = bytes < 512 * Mi ? 64 * Mi : bytes < 2 * Gi ? 128 * Mi : 512 * Mi
  return Math.max(64 * Mi, (mode === 'up' ? Math.ceil : Math.round)(bytes / step) * step)
}

const pct = (x: number) => `${Math.round(x * 100)}%`
export const fmtCpu = (c?: number) => (c === undefined ? '-' : `${Math.round(c * 1000)}m`)
export const fmtMem = (b?: number) => (b === undefined ? '-' : b >= Gi && b % (128 * Mi) === 0 ? `${+(b / Gi).toFixed(3)}Gi` : `${Math.round(b / Mi)}Mi`)

/** A request that puts P95 at the middle of the well-sized band, rounded, kept inside the band when rounding would leave it. */
function sized(p95: number, band: {low: number; high: number}, round: (x: number, m?: 'nearest' | 'up') => number): number {
  const target = (band.low + band.high) / 2
  const r = round(p95 / target)
  return p95 / r >= band.low && p95 / r <= band.high ? r : round(p95 / target, 'up')
}

function resource(kind: 'cpu' | 'mem', u: WorkloadUsage, t: Thresholds, bursty: boolean): Recommendation['cpu'] {
  const s = kind === 'cpu' ? u.cpu : u.mem
  const now = {request: u.request[kind], limit: u.limit[kind]}
  const round = kind === 'cpu' ? roundCpu : roundMem
  const fmt = kind === 'cpu' ? fmtCpu : fmtMem
  const unit = fmt
  const req = now.request
  const lim = now.limit
  const keep = (c: Class, reason: string) => ({class: c, reason, now, after: now})
  const set = (c: Class, reason: string, request: number) => ({class: c, reason, now, after: {request, limit: kind === 'cpu' && lim === undefined ? undefined : round(request * t.limitFactor, 'up')}})
  // under-provisioned: P95 above 90% of the limit, or CPU throttling, or OOM kills (memory)
  const throttled = kind === 'cpu' && u.throttledShare > t.throttledShare
  const oom = kind === 'mem' && u.oomKills > 0
  const nearLimit = lim !== undefined && s.p95 > t.underP95OfLimit * lim
  if (nearLimit || throttled || oom) {
    const why = [nearLimit ? `P95 ${unit(s.p95)} is above ${pct(t.underP95OfLimit)} of the limit ${unit(lim!)}` : '',
      throttled ? `${pct(u.throttledShare)} of CPU periods throttled (over ${pct(t.throttledShare)})` : '', oom ? `${u.oomKills} OOM kill(s) in the window` : ''].filter(Boolean).join('; ')
    // the peak when it was capped (throttled or killed at the limit), else P95, at the middle of the band; never below the current request x 1.25
    const basis = throttled || oom ? Math.max(s.p99, s.max) : s.p95
    const request = Math.max(sized(basis, t.wellSized, round), req === undefined ? 0 : round(req * 1.25, 'up'))
    return set('under-provisioned', `${why}: request from ${throttled || oom ? 'the peak' : 'P95'} ${unit(basis)} at ${pct((t.wellSized.low + t.wellSized.high) / 2)}, limit ${t.limitFactor}x`, request)
  }
  if (req === undefined) return keep('in-between', 'no request set: nothing to compare P95 with')
  const share = s.p95 / req
  if (share < t.overP95OfRequest) {
    if (bursty) return keep('bursty', `P95 ${unit(s.p95)} is ${pct(share)} of the request ${unit(req)}, but usage is bursty: not shrunk`)
    return set('over-provisioned', `P95 ${unit(s.p95)} is ${pct(share)} of the request ${unit(req)} (under ${pct(t.overP95OfRequest)}): request at ${pct((t.wellSized.low + t.wellSized.high) / 2)} of P95, limit ${t.limitFactor}x`,
      sized(s.p95, t.wellSized, round))
  }
  if (share >= t.wellSized.low && share <= t.wellSized.high) return keep('well-sized', `P95 ${unit(s.p95)} is ${pct(share)} of the request ${unit(req)} (${pct(t.wellSized.low)}-${pct(t.wellSized.high)})`)
  return keep('in-between', `P95 ${unit(s.p95)} is ${pct(share)} of the request ${unit(req)}: outside the well-sized band but no rule applies; left as is`)
}

/** Prices per vCPU and per GiB a month: the least-squares split of the pools' instance prices (monthly = a*vCPU + b*GiB), each pool scaled to its own price. */
export function unitPrices(pricing: Environment['pricing']): Record<string, {cpu: number; mem: number; spotFactor: number}> {
  const pools = Object.entries(pricing.pools)
  let [sxx, sxy, syy, sxp, syp] = [0, 0, 0, 0, 0]
  for (const [, p] of pools) {
    sxx += p.vcpu * p.vcpu; sxy += p.vcpu * p.memoryGiB; syy += p.memoryGiB * p.memoryGiB; sxp += p.vcpu * p.monthly; syp += p.memoryGiB * p.monthly
  }
  const det = sxx * syy - sxy * sxy
  // one pool, or pools all with the same shape: split by a 1 vCPU : 8 GiB price ratio... of that shape's price
  const [a, b] = Math.abs(det) > 1e-9 ? [(sxp * syy - syp * sxy) / det, (syp * sxx - sxp * sxy) / det] : (() => {
    const p = pools[0]![1]
    return [p.monthly / (p.vcpu + p.memoryGiB / 8), p.monthly / (p.vcpu + p.memoryGiB / 8) / 8]
  })()
  return Object.fromEntries(pools.map(([name, p]) => {
    const f = p.monthly / (a * p.vcpu + b * p.memoryGiB)
    return [name, {cpu: a * f, mem: b * f, spotFactor: p.spotMonthly !== undefined && p.monthly > 0 ? p.spotMonthly / p.monthly : 1}]
  }))
}

/** Dollars a month for a workload's requests: per pod, at its pool's prices, Spot pods at Spot prices. */
export function monthlyCost(u: WorkloadUsage, prices: ReturnType<typeof unitPrices>, cpuReq?: number, memReq?: number): number {
  const p = prices[u.pool ?? ''] ?? Object.values(prices)[0]
  if (!p) return 0
  const perPod = (cpuReq ?? 0) * p.cpu + ((memReq ?? 0) / Gi) * p.mem
  return u.pods * perPod * ((1 - u.spotShare) + u.spotShare * p.spotFactor)
}

export function recommend(u: WorkloadUsage, t: Thresholds, prices: ReturnType<typeof unitPrices>): Recommendation {
  const cost = (cpu?: number, mem?: number) => monthlyCost(u, prices, cpu, mem)
  const costNow = cost(u.request.cpu, u.request.mem)
  if (u.coverage < t.minCoverage) {
    const why = `only ${pct(u.coverage)} of the window has data (needs ${pct(t.minCoverage)}): no recommendation`
    const keep = (k: 'cpu' | 'mem') => ({class: 'insufficient-data' as const, reason: why, now: {request: u.request[k], limit: u.limit[k]}, after: {request: u.request[k], limit: u.limit[k]}})
    return {workload: u, class: 'insufficient-data', cpu: keep('cpu'), mem: keep('mem'), changed: false, cost: {now: costNow, after: costNow, savings: 0}}
  }
  const bursty = u.cpu.p50 > 0 && u.cpu.p99 / u.cpu.p50 > t.burstyRatio
  const cpu = resource('cpu', u, t, bursty)
  const mem = resource('mem', u, t, bursty)
  const changed = cpu.after.request !== cpu.now.request || cpu.after.limit !== cpu.now.limit || mem.after.request !== mem.now.request || mem.after.limit !== mem.now.limit
  const order: Class[] = ['under-provisioned', 'bursty', 'over-provisioned', 'in-between', 'well-sized']
  const cls = bursty && cpu.class !== 'under-provisioned' && mem.class !== 'under-provisioned' ? 'bursty' : order.find((c) => cpu.class === c || mem.class === c) ?? 'well-sized'
  const after = cost(cpu.after.request, mem.after.request)
  return {workload: u, class: cls, cpu, mem, changed, cost: {now: costNow, after, savings: costNow - after}}
}
