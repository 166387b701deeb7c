// Benchmark: `vaultctl report rightsizing --format json` on 500 workloads x 14 days of 30 s samples
// (CPU and memory every 30 s; requests, limits, owners and placement every 5 min), backfilled into
// a Prometheus of its own, against the KRR way in the same run: one range query per pod and metric
// (at the same 5 min resolution, 10 at a time, as KRR's workers), percentiles computed client-side.
// Both are timed end to end (best and median of 3) and their queries counted; their P95s compared.
// node bench/rightsizing.mjs   (after a build; Prometheus on 127.0.0.1:21090; the TSDB is kept in
// /tmp/vaultctl-bench-rs and reused while its parameters match; BENCH_FRESH=1 rebuilds it)
import {execFileSync, spawn} from 'node:child_process'
import {finished} from 'node:stream/promises'
import {createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'

const BIN = new URL('../bin/run.js', import.meta.url).pathname
const dir = '/tmp/vaultctl-bench-rs'
const PORT = 21090
const WORKLOADS = Number(process.env.BENCH_WORKLOADS ?? 500)
const DAYS = 14
const end = new Date('2026-11-27T00:00:00Z')
const params = JSON.stringify({WORKLOADS, DAYS, end, step: 30, slow: 300, v: 1})
const url = `http://127.0.0.1:${PORT}`
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const namespaces = Array.from({length: 5}, (_, i) => `fleet-${i}`)

if (process.env.BENCH_FRESH === '1' || !existsSync(`${dir}/params.json`) || readFileSync(`${dir}/params.json`, 'utf8') !== params) {
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const t0 = Date.now()
  const out = createWriteStream(`${dir}/fleet.om`)
  const gen = spawn(process.execPath, [BIN, 'lab', 'metrics', '--days', String(DAYS), '--step', '30', '--slow-step', '300', '--workloads', String(WORKLOADS), '--end', end.toISOString()], {stdio: ['ignore', 'pipe', 'inherit']})
  gen.stdout.pipe(out)
  const [code] = await Promise.all([new Promise((r) => gen.on('exit', r)), finished(out)])
  if (code !== 0) throw new Error(`lab metrics exited ${code}`)
  console.error(`generated in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  const t1 = Date.now()
  execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=24h', `${dir}/fleet.om`, `${dir}/tsdb`], {stdio: ['ignore', 'ignore', 'inherit']})
  rmSync(`${dir}/fleet.om`)
  console.error(`backfilled in ${((Date.now() - t1) / 1000).toFixed(0)} s`)
  writeFileSync(`${dir}/params.json`, params)
}
writeFileSync(`${dir}/prometheus.yml`, 'global: {scrape_interval: 1h}\nscrape_configs: []\n')
const prom = spawn('prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${PORT}`, '--storage.tsdb.retention.time=3650d', '--log.level=warn'], {stdio: 'ignore'})
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break
    } catch {
      // not yet
    }
    if (i > 600) throw new Error('prometheus did not become ready')
    await sleep(500)
  }
  writeFileSync(`${dir}/vaultctl.yaml`, `apiVersion: vaultctl/v1\ndefaultEnvironment: bench\nenvironments:\n  bench:\n    prometheus: {url: "${url}"}\n`)

  const vaultctl = () => {
    const t0 = process.hrtime.bigint()
    const out = execFileSync(process.execPath, [BIN, 'report', 'rightsizing', '--config', `${dir}/vaultctl.yaml`, '--format', 'json', '--window', `${DAYS}d`, '--at', end.toISOString(),
      '--namespace', namespaces.join(',')], {encoding: 'utf8', maxBuffer: 1 << 30, env: {...process.env, NO_COLOR: '1'}})
    return {seconds: Number(process.hrtime.bigint() - t0) / 1e9, result: JSON.parse(out)}
  }

  /** KRR's way: per pod and metric one range query over the window, then the percentiles here. */
  const krr = async () => {
    const t0 = process.hrtime.bigint()
    let queries = 0
    const q = async (path, params) => {
      queries++
      const r = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`)
      const j = await r.json()
      if (j.status !== 'success') throw new Error(j.error)
      return j.data.result
    }
    const at = end.getTime() / 1000
    const pods = []
    for (const ns of namespaces) for (const s of await q('query', {query: `max by (namespace,pod,container) (max_over_time(kube_pod_info{namespace="${ns}"}[${DAYS}d]) * on (namespace,pod) group_left(container) max by (namespace,pod,container) (max_over_time(kube_pod_container_resource_requests{namespace="${ns}",resource="cpu"}[${DAYS}d])))`, time: String(at)})) pods.push(s.metric)
    const quantile = (qq, xs) => {
      const v = [...xs].sort((a, b) => a - b)
      const rank = qq * (v.length - 1)
      const lo = Math.floor(rank)
      const hi = Math.min(lo + 1, v.length - 1)
      return v[lo] * (1 - (rank - lo)) + v[hi] * (rank - lo)
    }
    const out = new Map()
    let next = 0
    await Promise.all(Array.from({length: 10}, async () => {
      while (next < pods.length) {
        const p = pods[next++]
        const sel = `namespace="${p.namespace}",pod="${p.pod}",container="${p.container}"`
        const range = {start: String(at - DAYS * 86_400), end: String(at), step: '300'}
        const [cpu, mem] = await Promise.all([q('query_range', {query: `rate(container_cpu_usage_seconds_total{${sel}}[450s])`, ...range}), q('query_range', {query: `container_memory_working_set_bytes{${sel}}`, ...range})])
        const vals = (m) => (m[0]?.values ?? []).map((v) => Number(v[1]))
        out.set(p.pod, {cpuP95: quantile(0.95, vals(cpu)), memP95: quantile(0.95, vals(mem))})
      }
    }))
    return {seconds: Number(process.hrtime.bigint() - t0) / 1e9, queries, pods: out}
  }

  const runs = {vaultctl: [], krr: []}
  let last
  for (let round = 0; round < 3; round++) {
    const v = vaultctl()
    runs.vaultctl.push(v.seconds)
    last = {v, k: await krr()}
    runs.krr.push(last.k.seconds)
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const recs = last.v.result.recommendations
  // the same P95 memory per workload (their data are the same samples; CPU differs by the 30 s vs 5 min raw resolution of the range query)
  const memDiff = Math.max(...recs.map((r) => {
    const k = last.k.pods.get(`${r.workload.name}-0`)
    return k ? Math.abs(k.memP95 - r.workload.mem.p95) / r.workload.mem.p95 : 0
  }))
  console.log(JSON.stringify({date: new Date().toISOString(), workloads: WORKLOADS, days: DAYS, recommendations: recs.length,
    vaultctl: {best: Math.min(...runs.vaultctl), median: med(runs.vaultctl), queries: last.v.result.queries},
    krr: {best: Math.min(...runs.krr), median: med(runs.krr), queries: last.k.queries},
    ratio: med(runs.krr) / med(runs.vaultctl), maxMemP95RelDiff: memDiff}, null, 2))
} finally {
  prom.kill('SIGTERM')
}
