// `report rightsizing` against the lab's Prometheus, backfilled with the generator's 7 days of
// samples. The expected percentiles are computed here from the generated samples themselves, with
// Prometheus' own semantics (rate() extrapolation, quantile interpolation, closed ranges of v2),
// not read back from Prometheus.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import type {RightsizingResult} from '../../src/commands/report/rightsizing.js'
import type {ProvisionPlanResult} from '../../src/commands/provision/plan.js'
import {VAULT_WORKLOADS, cpuSamples, memSamples, podName, withDefaults, type Workload} from '../../src/lib/lab/metrics.js'
import {vaultctl} from '../helpers/cli.js'
import {labCli} from '../helpers/lab.js'

const WINDOW = 7 * 86_400
const RES = 300
const RATE = 450

/** Prometheus' quantile: linear interpolation between the closest ranks. */
function quantile(q: number, xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b)
  const rank = q * (v.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.min(lo + 1, v.length - 1)
  return v[lo]! * (1 - (rank - lo)) + v[hi]! * (rank - lo)
}

/** rate(counter[RATE]) at t, as Prometheus 2 computes it (extrapolatedRate: closed range, zero clamp for counters). */
function rateAt(t: number[], c: number[], at: number): number | undefined {
  const idx = t.map((x, i) => [x, i] as const).filter(([x]) => x >= at - RATE && x <= at).map(([, i]) => i)
  if (idx.length < 2) return undefined
  const [f, l] = [idx[0]!, idx.at(-1)!]
  const increase = c[l]! - c[f]!
  const sampled = t[l]! - t[f]!
  const avg = sampled / (idx.length - 1)
  let toStart = t[f]! - (at - RATE)
  const toEnd = at - t[l]!
  if (increase > 0 && c[f]! >= 0) toStart = Math.min(toStart, sampled * (c[f]! / increase))
  const threshold = avg * 1.1
  const extrapolated = sampled + (toStart < threshold ? toStart : avg / 2) + (toEnd < threshold ? toEnd : avg / 2)
  return (increase * (extrapolated / sampled)) / RATE
}

function expected(w: Workload, o: {end: Date; days: number; stepSeconds: number; seed: number}) {
  const endS = o.end.getTime() / 1000
  const perPod = Array.from({length: w.replicas}, (_, i) => {
    const pod = podName(w, i)
    const m = memSamples(w, pod, o)
    const mem = m.bytes.filter((_, k) => m.t[k]! >= endS - WINDOW && m.t[k]! <= endS)
    const c = cpuSamples(w, pod, o)
    const cpu: number[] = []
    for (let at = Math.ceil((endS - WINDOW) / RES) * RES; at <= endS; at += RES) {
      const r = rateAt(c.t, c.counter, at)
      if (r !== undefined) cpu.push(r)
    }
    const s = (xs: number[]) => ({p50: quantile(0.5, xs), p95: quantile(0.95, xs), p99: quantile(0.99, xs), max: Math.max(...xs)})
    return {cpu: s(cpu), mem: s(mem)}
  })
  const top = (k: 'cpu' | 'mem', p: 'p50' | 'p95' | 'p99' | 'max') => Math.max(...perPod.map((x) => x[k][p]))
  return {cpu: {p50: top('cpu', 'p50'), p95: top('cpu', 'p95'), p99: top('cpu', 'p99'), max: top('cpu', 'max')}, mem: {p50: top('mem', 'p50'), p95: top('mem', 'p95'), p99: top('mem', 'p99'), max: top('mem', 'max')}}
}

describe('report rightsizing on the lab\'s Prometheus', () => {
  const dir = inject('labDir')
  let marker: {end: string; days: number; stepSeconds: number; seed: number}
  let result: RightsizingResult
  const work = mkdtempSync(join(tmpdir(), 'vaultctl-rs-'))
  const args = () => ['report', 'rightsizing', '--at', marker.end, '--namespace', 'llm-vault-prod,llm-vault-data,llm-vault-jobs']

  beforeAll(async () => {
    marker = JSON.parse(readFileSync(join(dir, 'prometheus', 'backfilled'), 'utf8')) as typeof marker
    const r = await labCli([...args(), '--json', '--values-out', join(work, 'values.yaml')])
    expect(r.code, r.stderr).toBe(0)
    result = r.json<RightsizingResult>()
  })

  it('measures every workload exactly: P50/P95/P99/max of CPU and memory equal those of the generated samples', () => {
    const o = {end: new Date(marker.end), days: marker.days, stepSeconds: marker.stepSeconds, seed: marker.seed}
    expect(result.recommendations.map((r) => r.workload.name).sort()).toEqual(VAULT_WORKLOADS.map((w) => w.name).sort())
    for (const w0 of VAULT_WORKLOADS) {
      const w = withDefaults(w0)
      const got = result.recommendations.find((r) => r.workload.name === w.name)!.workload
      const want = expected(w, o)
      for (const k of ['cpu', 'mem'] as const) {
        for (const p of ['p50', 'p95', 'p99', 'max'] as const) expect(Math.abs(got[k][p] - want[k][p]) / want[k][p], `${w.name} ${k} ${p}: ${got[k][p]} vs ${want[k][p]}`).toBeLessThan(1e-6)
      }
      expect(got.pods).toBe(w.replicas)
      expect(got.request).toEqual({cpu: w.cpuRequest, mem: w.memRequest})
    }
  })

  it('classifies each pattern by the methodology, resolves owners and pools, and sent a handful of queries per namespace', () => {
    const by = (name: string) => result.recommendations.find((r) => r.workload.name === name)!
    expect(Object.fromEntries(result.recommendations.map((r) => [r.workload.name, r.class]))).toEqual({
      'vault-gateway': 'in-between', 'vault-api': 'well-sized', 'vault-worker': 'under-provisioned', 'vault-audit-logger': 'over-provisioned', postgres: 'in-between',
      redis: 'over-provisioned', pgbouncer: 'over-provisioned', 'vault-search': 'under-provisioned', 'vault-indexer': 'under-provisioned', 'vault-embedder': 'insufficient-data',
      'vault-pii-scanner': 'bursty',
    })
    expect(by('vault-worker').cpu.reason).toMatch(/^30% of CPU periods throttled/)
    expect(by('vault-indexer').workload.oomKills).toBe(3)
    expect(by('vault-indexer').mem.reason).toContain('3 OOM kill(s)')
    expect(by('vault-embedder').workload.coverage).toBeCloseTo(2 / 7, 2)
    expect([by('vault-pii-scanner').workload.kind, by('postgres').workload.kind, by('vault-api').workload.kind]).toEqual(['CronJob', 'StatefulSet', 'Deployment'])
    expect([by('vault-worker').workload.pool, by('vault-worker').workload.spotShare, by('postgres').workload.pool]).toEqual(['worker', 0.5, 'data'])
    // pgbouncer: P95 at the middle of the band, rounded (64Mi steps below 512Mi)
    const pg = by('pgbouncer')
    expect(pg.mem.after.request! / (64 * 1024 ** 2)).toBe(Math.round(pg.workload.mem.p95 / 0.7 / (64 * 1024 ** 2)))
    expect(result.queries).toBeLessThanOrEqual(1 + 3 * 22)
    expect(result.total.now).toBeCloseTo(result.recommendations.reduce((a, r) => a + r.cost.now, 0), 6)
  })

  it('--values-out: provision plan --values shows exactly the recommended resources of the chart\'s containers', async () => {
    const overlay = parse(readFileSync(join(work, 'values.yaml'), 'utf8')) as Record<string, {resources: {requests: {cpu: string; memory: string}}}>
    expect(Object.keys(overlay)).toEqual(['worker']) // vault-api is well-sized; the other containers are not the chart's
    const cfg = join(work, 'vaultctl.yaml')
    writeFileSync(cfg, 'apiVersion: vaultctl/v1\nenvironments:\n  lab: {}\n')
    const rendered = join(work, 'rendered')
    expect((await vaultctl(['provision', 'render', '--config', cfg, '--out', rendered, '--yes'])).code).toBe(0)
    const p = await vaultctl(['provision', 'plan', '--config', cfg, '--dir', rendered, '--values', join(work, 'values.yaml'), '--json'])
    expect(p.code, p.stderr).toBe(0)
    const changes = p.json<ProvisionPlanResult>().changes
    const worker = result.recommendations.find((r) => r.workload.name === 'vault-worker')!
    expect(changes.map((c) => c.resource)).toEqual([expect.stringMatching(/^Deployment llm-vault-prod\/llm-vault-worker$/)])
    expect(changes[0]!.fields).toEqual([
      {path: 'spec.template.spec.containers[name=worker].resources.limits.cpu', from: '500m', to: `${Math.round(worker.cpu.after.limit! * 1000)}m`},
      {path: 'spec.template.spec.containers[name=worker].resources.requests.cpu', from: '100m', to: `${Math.round(worker.cpu.after.request! * 1000)}m`},
    ])
  })

  it('--format html: one self-contained file whose charts render in a real headless browser', async () => {
    const html = join(work, 'report.html')
    const r = await labCli([...args(), '--format', 'html', '--out', html])
    expect(r.code, r.stderr).toBe(0)
    const text = readFileSync(html, 'utf8')
    expect(text).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/) // nothing to fetch
    expect((text.match(/<svg class="chart"/g) ?? []).length).toBe(2 * result.recommendations.length)
    const png = join(work, 'report.png')
    execFileSync(chromium(), ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${png}`, '--window-size=1200,2400', `file://${html}`], {stdio: 'ignore', timeout: 60_000})
    const {PNG} = await import('pngjs')
    const img = PNG.sync.read(readFileSync(png))
    // the usage lines (#1f77b4), the recommended requests (#2ca02c) and the savings bars were drawn
    const count = (r: number, g: number, b: number) => {
      let n = 0
      for (let i = 0; i < img.data.length; i += 4) if (Math.abs(img.data[i]! - r) < 8 && Math.abs(img.data[i + 1]! - g) < 8 && Math.abs(img.data[i + 2]! - b) < 8) n++
      return n
    }
    expect(count(0x1f, 0x77, 0xb4)).toBeGreaterThan(500)
    expect(count(0x2c, 0xa0, 0x2c)).toBeGreaterThan(500)
  })
})

function chromium(): string {
  for (const c of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    try {
      execFileSync(c, ['--version'], {stdio: 'ignore'})
      return c
    } catch {
      // next
    }
  }
  throw new Error('chromium is not installed: vaultctl lab install --tools chromium (scripts/setup does it)')
}
