// The right-sizing methodology (architecture 10.1), pure: classes, recommendations, rounding,
// prices from the node pools, the values overlay and CSV.
import {describe, expect, it} from 'vitest'
import {EnvironmentSchema} from '../../src/lib/config/schema.js'
import {recommend, roundCpu, roundMem, unitPrices, type WorkloadUsage} from '../../src/lib/report/rightsizing.js'
import {renderCsv, valuesOverlay} from '../../src/lib/report/render.js'

const Gi = 1024 ** 3
const Mi = 1024 ** 2
const env = EnvironmentSchema.parse({})
const prices = unitPrices(env.pricing)
const t = env.rightsizing
const base: WorkloadUsage = {namespace: 'llm-vault-prod', kind: 'Deployment', name: 'vault-api', container: 'api', pods: 3, pool: 'api', spotShare: 0,
  cpu: {p50: 0.5, p95: 0.7, p99: 0.8, max: 0.9}, mem: {p50: 1.2 * Gi, p95: 1.5 * Gi, p99: 1.6 * Gi, max: 1.7 * Gi},
  request: {cpu: 2, mem: 4 * Gi}, limit: {cpu: 4, mem: 8 * Gi}, throttledShare: 0, oomKills: 0, restarts: 0, coverage: 1}

describe('right-sizing', () => {
  it('the architecture\'s worked example: API P95 0.7 vCPU on 2/4 -> 1/2 vCPU; P95 1.5 GiB on 4/8 -> 2/4 GiB', () => {
    const r = recommend(base, t, prices)
    expect(r.class).toBe('over-provisioned')
    expect([r.cpu.after, r.mem.after]).toEqual([{request: 1, limit: 2}, {request: 2 * Gi, limit: 4 * Gi}])
    expect(r.cpu.reason).toBe('P95 700m is 35% of the request 2000m (under 50%): request at 70% of P95, limit 2x')
    // 3 pods x (1 vCPU x $83.33 + 2 GiB x $8.33) a month saved
    expect(r.cost.savings).toBeCloseTo(3 * (1 * 83.333 + 2 * 8.333), 1)
  })
  it('prices per vCPU and GiB from the pools (architecture 3.2/10.2: c6i.2xlarge $800, c6i.4xlarge $1,600, r6i.2xlarge $1,200), Spot at its price', () => {
    expect(prices.api!.cpu).toBeCloseTo(83.333, 2)
    expect(prices.api!.mem).toBeCloseTo(8.333, 2)
    expect(prices.worker!.spotFactor).toBeCloseTo(0.3, 5)
    const spot = recommend({...base, pool: 'worker', spotShare: 0.5}, t, prices)
    expect(spot.cost.now).toBeCloseTo(3 * (2 * 83.333 + 4 * 8.333) * (0.5 + 0.5 * 0.3), 1)
  })
  it('under-provisioned by the limit, by throttling, by OOM kills; well-sized left alone; bursty flagged not shrunk; too little data not judged', () => {
    const near = recommend({...base, cpu: {...base.cpu, p95: 3.8}}, t, prices)
    expect([near.class, near.cpu.class, near.cpu.after]).toEqual(['under-provisioned', 'under-provisioned', {request: 5.45, limit: 10.9}])
    const throttled = recommend({...base, cpu: {p50: 1, p95: 1.3, p99: 1.5, max: 1.6}, request: {...base.request, cpu: 2}, throttledShare: 0.3}, t, prices)
    expect(throttled.cpu.class).toBe('under-provisioned')
    expect(throttled.cpu.reason).toMatch(/^30% of CPU periods throttled \(over 5%\): request from the peak 1600m/)
    expect(throttled.cpu.after.request).toBe(2.5) // max(peak 1.6 / 0.7 = 2.29 -> 2.3, 2 x 1.25 = 2.5)
    const oom = recommend({...base, mem: {p50: 2.5 * Gi, p95: 2.9 * Gi, p99: 3 * Gi, max: 3 * Gi}, request: {cpu: 1, mem: 2 * Gi}, limit: {cpu: 2, mem: 3 * Gi}, oomKills: 3}, t, prices)
    expect(oom.mem.class).toBe('under-provisioned')
    expect(oom.mem.reason).toContain('3 OOM kill(s) in the window')
    expect(oom.mem.after).toEqual({request: 4.5 * Gi, limit: 9 * Gi})
    const well = recommend({...base, cpu: {...base.cpu, p95: 1.4}, mem: {...base.mem, p95: 2.8 * Gi}}, t, prices)
    expect([well.class, well.changed]).toEqual(['well-sized', false])
    const bursty = recommend({...base, cpu: {p50: 0.1, p95: 0.3, p99: 1.9, max: 2}}, t, prices)
    expect([bursty.class, bursty.cpu.class, bursty.cpu.after]).toEqual(['bursty', 'bursty', {request: 2, limit: 4}])
    const young = recommend({...base, coverage: 0.3}, t, prices)
    expect([young.class, young.changed, young.cpu.reason]).toEqual(['insufficient-data', false, 'only 30% of the window has data (needs 90%): no recommendation'])
  })
  it('rounds CPU to 50m and memory to 64Mi/128Mi/512Mi steps', () => {
    expect([roundCpu(0.72), roundCpu(0.001), roundCpu(1.26, 'up')]).toEqual([0.7, 0.05, 1.3])
    expect([roundMem(300 * Mi), roundMem(1.3 * Gi), roundMem(2.14 * Gi), roundMem(2.1 * Gi, 'up')]).toEqual([320 * Mi, 1.25 * Gi, 2 * Gi, 2.5 * Gi])
  })
  it('the values overlay sets only the chart\'s containers that change; CSV quotes what needs it', () => {
    const recs = [recommend(base, t, prices), recommend({...base, name: 'vault-x', container: 'x'}, t, prices)]
    const v = valuesOverlay(recs)
    expect(v.applied).toEqual(['api.resources'])
    expect(v.skipped).toEqual(['llm-vault-prod/vault-x (x): not a container of the llm-vault chart'])
    expect(v.yaml).toContain('api:\n  resources:\n    requests:\n      cpu: 1000m\n      memory: 2Gi\n    limits:\n      cpu: 2000m\n      memory: 4Gi\n')
    const csv = renderCsv(recs).split('\n')
    expect(csv[0]!.split(',').slice(0, 5)).toEqual(['namespace', 'kind', 'workload', 'container', 'class'])
    expect(csv[1]).toContain(',"P95 700m is 35% of the request 2000m (under 50%): request at 70% of P95, limit 2x",')
  })
})
