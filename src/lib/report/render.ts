// The right-sizing report's outputs: a table for a terminal, CSV, a self-contained HTML file (inline
// SVG charts, no script and no network), and a Helm values overlay for the llm-vault chart.
import {stringify} from 'yaml'
import {table} from '../table.js'
import type {WorkloadSeries} from './observe.js'
import {fmtCpu, fmtMem, type Recommendation} from './rightsizing.js'

const money = (x: number, cur: string) => `${Math.round(x) < 0 ? '-' : ''}${cur === 'USD' ? '$' : `${cur} `}${Math.abs(Math.round(x)).toLocaleString('en-US')}`
const pair = (r: {request?: number; limit?: number}, f: (x?: number) => string) => `${f(r.request)}/${f(r.limit)}`

export function renderTable(recs: Recommendation[], currency: string): string {
  const rows = recs.map((r) => [`${r.workload.namespace}/${r.workload.name}`, r.workload.container, r.class,
    `${fmtCpu(r.workload.cpu.p95)}`, `${pair(r.cpu.now, fmtCpu)} -> ${pair(r.cpu.after, fmtCpu)}`, `${fmtMem(r.workload.mem.p95)}`, `${pair(r.mem.now, fmtMem)} -> ${pair(r.mem.after, fmtMem)}`,
    money(r.cost.now, currency), money(r.cost.after, currency)])
  const total = recs.reduce((a, r) => ({now: a.now + r.cost.now, after: a.after + r.cost.after}), {now: 0, after: 0})
  const why = recs.filter((r) => r.changed || r.class === 'bursty' || r.class === 'insufficient-data').flatMap((r) => [`${r.workload.namespace}/${r.workload.name} (${r.workload.container}):`,
    `  cpu: ${r.cpu.reason}`, `  memory: ${r.mem.reason}`])
  return [table(['WORKLOAD', 'CONTAINER', 'CLASS', 'CPU P95', 'CPU REQ/LIM', 'MEM P95', 'MEM REQ/LIM', 'NOW/MO', 'AFTER/MO'], rows), '',
    `Total: ${money(total.now, currency)}/month now, ${money(total.after, currency)}/month after: ${money(total.now - total.after, currency)}/month saved${total.now > 0 ? ` (${Math.round(((total.now - total.after) / total.now) * 100)}%)` : ''}`,
    '', ...why].join('\n')
}

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : String(v)
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

export function renderCsv(recs: Recommendation[]): string {
  const head = ['namespace', 'kind', 'workload', 'container', 'class', 'cpu_p50', 'cpu_p95', 'cpu_p99', 'cpu_max', 'cpu_request', 'cpu_limit', 'cpu_request_after', 'cpu_limit_after',
    'mem_p50', 'mem_p95', 'mem_p99', 'mem_max', 'mem_request', 'mem_limit', 'mem_request_after', 'mem_limit_after', 'throttled_share', 'oom_kills', 'coverage', 'cost_now', 'cost_after', 'cpu_reason', 'mem_reason']
  const rows = recs.map((r) => {
    const u = r.workload
    return [u.namespace, u.kind, u.name, u.container, r.class, u.cpu.p50, u.cpu.p95, u.cpu.p99, u.cpu.max, u.request.cpu, u.limit.cpu, r.cpu.after.request, r.cpu.after.limit,
      u.mem.p50, u.mem.p95, u.mem.p99, u.mem.max, u.request.mem, u.limit.mem, r.mem.after.request, r.mem.after.limit, u.throttledShare.toFixed(4), u.oomKills, u.coverage.toFixed(4),
      r.cost.now.toFixed(2), r.cost.after.toFixed(2), r.cpu.reason, r.mem.reason]
  })
  return [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n'
}

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

/** A line chart of hourly P95 against the current and the recommended request and limit (inline SVG). */
function chart(title: string, points: [number, number][], lines: {label: string; value?: number; color: string; dash?: boolean}[], fmt: (x: number) => string): string {
  const W = 560
  const H = 200
  const pad = {l: 64, r: 150, t: 24, b: 28}
  const ys = [...points.map((p) => p[1]), ...lines.flatMap((l) => (l.value === undefined ? [] : [l.value]))]
  const ymax = Math.max(...ys, 1e-9) * 1.1
  const [t0, t1] = [points[0]?.[0] ?? 0, points.at(-1)?.[0] ?? 1]
  const x = (t: number) => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (W - pad.l - pad.r)
  const y = (v: number) => H - pad.b - (v / ymax) * (H - pad.t - pad.b)
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')
  const guides = lines.filter((l) => l.value !== undefined).map((l, i) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(l.value!).toFixed(1)}" y2="${y(l.value!).toFixed(1)}" stroke="${l.color}" stroke-width="2"${l.dash ? ' stroke-dasharray="6 4"' : ''}/>`
    + `<text x="${W - pad.r + 6}" y="${(pad.t + 14 * i + 10).toFixed(1)}" font-size="11" fill="${l.color}">${esc(l.label)} ${esc(fmt(l.value!))}</text>`).join('')
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`
    + `<rect width="${W}" height="${H}" fill="#fff"/><text x="${pad.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`
    + `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${H - pad.b}" stroke="#999"/><line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#999"/>`
    + `<text x="4" y="${y(ymax / 1.1).toFixed(1)}" font-size="10">${esc(fmt(ymax / 1.1))}</text><text x="4" y="${H - pad.b}" font-size="10">0</text>`
    + `<text x="${pad.l}" y="${H - 8}" font-size="10">${new Date(t0 * 1000).toISOString().slice(0, 16)}Z</text><text x="${W - pad.r - 110}" y="${H - 8}" font-size="10">${new Date(t1 * 1000).toISOString().slice(0, 16)}Z</text>`
    + `<path class="usage" d="${path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>${guides}</svg>`
}

function savingsChart(recs: Recommendation[], currency: string): string {
  const rows = recs.filter((r) => r.cost.savings !== 0)
  const W = 900
  const rowH = 22
  const H = 40 + rowH * Math.max(1, rows.length)
  const max = Math.max(1, ...rows.map((r) => Math.abs(r.cost.savings)))
  const mid = 520
  const bars = rows.map((r, i) => {
    const w = (Math.abs(r.cost.savings) / max) * 200
    const xs = r.cost.savings >= 0 ? mid : mid - w
    return `<rect class="bar" x="${xs.toFixed(1)}" y="${30 + i * rowH}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${r.cost.savings >= 0 ? '#2ca02c' : '#d62728'}"/>`
      + `<text x="${mid - 215}" y="${30 + i * rowH + 12}" font-size="11" text-anchor="end">${esc(`${r.workload.namespace}/${r.workload.name}`)}</text>`
      + `<text x="${mid + 210}" y="${30 + i * rowH + 12}" font-size="11">${esc(money(r.cost.savings, currency))}/mo</text>`
  }).join('')
  return `<svg class="chart savings" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="savings per workload">`
    + `<rect width="${W}" height="${H}" fill="#fff"/><text x="10" y="18" font-size="13" font-weight="bold">Monthly savings per workload (green: saved, red: costs more)</text>`
    + `<line x1="${mid}" x2="${mid}" y1="24" y2="${H}" stroke="#999"/>${bars}</svg>`
}

export function renderHtml(recs: Recommendation[], series: WorkloadSeries[], meta: {env: string; window: string; end: Date; currency: string; queries: number; canary: string[]}): string {
  const total = recs.reduce((a, r) => ({now: a.now + r.cost.now, after: a.after + r.cost.after}), {now: 0, after: 0})
  const sections = recs.map((r) => {
    const s = series.find((x) => x.namespace === r.workload.namespace && x.name === r.workload.name && x.container === r.workload.container)
    const lines = (k: 'cpu' | 'mem') => [{label: 'request now', value: r[k].now.request, color: '#7f7f7f'}, {label: 'limit now', value: r[k].now.limit, color: '#7f7f7f', dash: true},
      ...(r.changed ? [{label: 'request after', value: r[k].after.request, color: '#2ca02c'}, {label: 'limit after', value: r[k].after.limit, color: '#2ca02c', dash: true}] : [])]
    return `<section class="workload"><h2>${esc(`${r.workload.namespace}/${r.workload.name}`)} <small>${esc(r.workload.kind)}, container ${esc(r.workload.container)}, ${r.workload.pods} pod(s)</small> <span class="class ${r.class}">${r.class}</span></h2>
<p>CPU: ${esc(r.cpu.reason)}<br>Memory: ${esc(r.mem.reason)}<br>Cost: ${esc(money(r.cost.now, meta.currency))}/month now, ${esc(money(r.cost.after, meta.currency))}/month after.</p>
${chart('CPU, hourly P95 (cores)', s?.cpu ?? [], lines('cpu'), (v) => fmtCpu(v))}
${chart('Memory, hourly P95', s?.mem ?? [], lines('mem'), (v) => fmtMem(v))}</section>`
  }).join('\n')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Right-sizing ${esc(meta.env)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
.class{font-size:12px;padding:2px 6px;border-radius:4px;background:#eee}.over-provisioned{background:#d4f0d4}.under-provisioned{background:#f6d0d0}.bursty{background:#fbe7c6}
section.workload{margin:24px 0;border-top:1px solid #ddd}svg.chart{display:block;margin:6px 0}</style></head><body>
<h1>Right-sizing: ${esc(meta.env)}</h1>
<p>Window ${esc(meta.window)} ending ${meta.end.toISOString()}; the architecture's methodology (10.1); ${meta.queries} Prometheus queries.
Total ${esc(money(total.now, meta.currency))}/month now, ${esc(money(total.after, meta.currency))}/month after: <b>${esc(money(total.now - total.after, meta.currency))}/month saved</b>.</p>
${savingsChart(recs, meta.currency)}
<h2>Next: the canary (24 h)</h2><pre>${esc(meta.canary.join('\n'))}</pre>
${sections}
</body></html>
`
}

/** The llm-vault chart's values key of a container, for the containers the chart renders. */
export const CHART_KEYS: Record<string, string> = {api: 'api', worker: 'worker', 'pii-scanner': 'jobs.piiScanner', backup: 'jobs.backup', 'compliance-reporter': 'jobs.complianceReporter', 'backup-validator': 'jobs.backupValidator'}

const cpuValue = (c?: number) => (c === undefined ? undefined : `${Math.round(c * 1000)}m`)
const memValue = (b?: number) => (b === undefined ? undefined : b % (1024 ** 3) === 0 ? `${b / 1024 ** 3}Gi` : `${Math.round(b / 1024 ** 2)}Mi`)

/** The recommendations as a values overlay for the llm-vault chart (only the containers it renders, only what changes). */
export function valuesOverlay(recs: Recommendation[]): {yaml: string; applied: string[]; skipped: string[]} {
  const out: Record<string, unknown> = {}
  const applied: string[] = []
  const skipped: string[] = []
  for (const r of recs.filter((x) => x.changed)) {
    const k = CHART_KEYS[r.workload.container]
    if (!k) {
      skipped.push(`${r.workload.namespace}/${r.workload.name} (${r.workload.container}): not a container of the llm-vault chart`)
      continue
    }
    let node = out
    for (const part of k.split('.')) node = (node[part] ??= {}) as Record<string, unknown>
    const cpu = r.cpu.after.request !== r.cpu.now.request || r.cpu.after.limit !== r.cpu.now.limit
    const mem = r.mem.after.request !== r.mem.now.request || r.mem.after.limit !== r.mem.now.limit
    const pick = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
    node.resources = {requests: pick({...(cpu ? {cpu: cpuValue(r.cpu.after.request)} : {}), ...(mem ? {memory: memValue(r.mem.after.request)} : {})}),
      limits: pick({...(cpu ? {cpu: cpuValue(r.cpu.after.limit)} : {}), ...(mem ? {memory: memValue(r.mem.after.limit)} : {})})}
    applied.push(`${k}.resources`)
  }
  return {yaml: `# Right-sizing recommendations (vaultctl report rightsizing): merge over the environment's values,\n# e.g. provision.helm.values, then vaultctl provision plan / apply.\n${stringify(out)}`, applied, skipped}
}
