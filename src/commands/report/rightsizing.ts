import {writeFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveSecret} from '../../lib/config/secrets.js'
import {usageError} from '../../lib/errors.js'
import {durationFlag} from '../../lib/flags.js'
import type {PromConn} from '../../lib/clients/prometheus.js'
import {observeRightsizing} from '../../lib/report/observe.js'
import {renderCsv, renderHtml, renderTable, valuesOverlay} from '../../lib/report/render.js'
import {recommend, unitPrices, type Recommendation} from '../../lib/report/rightsizing.js'
import {formatDuration} from '../../lib/units.js'

export type RightsizingResult = {env: string; window: string; end: string; queries: number; currency: string; recommendations: Recommendation[]
  total: {now: number; after: number; savings: number}; canary: string[]; values?: {file: string; applied: string[]; skipped: string[]}; out?: string}

export default class ReportRightsizing extends BaseCommand<typeof ReportRightsizing> {
  static override summary = 'Right-sizing from Prometheus by the architecture\'s methodology (10.1): classes, recommendations with their reasons, monthly cost now and after'
  static override description = 'Per workload container (Deployment, StatefulSet, CronJob/Job, DaemonSet, from kube-state-metrics owner series): CPU and memory P50/P95/P99/max over the window, requests and limits, CPU throttling, OOM kills. Over-provisioned (P95 < 50% of request) -> request at the middle of the well-sized band (60-80%); under-provisioned (P95 > 90% of limit, throttling, OOM kills) -> up; limits = request x 2. Bursty workloads (P99/P50 > 3) are flagged, not shrunk; workloads with less data than the window are not judged. Thresholds in the environment\'s `rightsizing`, prices in `pricing.pools` (defaults: the architecture\'s).'
  static override examples = ['<%= config.bin %> report rightsizing', '<%= config.bin %> report rightsizing --namespace llm-vault-prod --format html --out rightsizing.html', '<%= config.bin %> report rightsizing --values-out rightsizing-values.yaml']
  static override flags = {
    namespace: Flags.string({description: 'namespaces to report on (default: the environment\'s kubernetes.namespaces)', multiple: true}),
    workload: Flags.string({description: 'only this workload (Deployment, StatefulSet, CronJob or DaemonSet name)'}),
    window: durationFlag({description: 'the observation window (the methodology: 7 days)', default: '7d', min: 3600}),
    resolution: durationFlag({description: 'the subquery step of the CPU percentiles', default: '5m', min: 15}),
    format: Flags.string({description: 'output format (--json is the same as json)', options: ['table', 'json', 'csv', 'html'], default: 'table'}),
    out: Flags.string({description: 'write the report (table, csv, html, json) to this file instead of stdout'}),
    'values-out': Flags.string({description: 'write the recommendations as a Helm values overlay for the llm-vault chart (for provision plan/apply --values FILE)'}),
    at: Flags.string({description: 'the end of the window (ISO 8601; default: now)'}),
    'query-timeout': durationFlag({description: 'how long one Prometheus query may take', default: '5m'}),
  }

  async run(): Promise<RightsizingResult> {
    const r = this.environment()
    const f = this.flags
    const p = r.env.prometheus
    if (!p) throw usageError('NO_PROMETHEUS', `environment ${r.name} names no Prometheus (prometheus.url)`, ['Add prometheus: {url: http://...} to its config; the lab has one: vaultctl lab up.'])
    const end = f.at ? new Date(f.at) : new Date()
    if (Number.isNaN(end.getTime())) throw usageError('BAD_FLAG_VALUE', `--at ${JSON.stringify(f.at)}: expected an ISO 8601 time`, ['e.g. --at 2026-11-27T12:00:00Z'])
    const namespaces = f.namespace?.flatMap((x) => x.split(',')) ?? [...new Set(Object.values(r.env.kubernetes?.namespaces ?? {}))]
    if (!namespaces.length) throw usageError('NO_NAMESPACE', 'no namespaces to report on', ['Name them: --namespace NS, or set kubernetes.namespaces in the environment.'])
    const queries = {count: 0}
    const conn: PromConn = {url: p.url, queries, timeoutMs: f['query-timeout'] * 1000, ...(p.bearerTokenFrom ? {bearerToken: resolveSecret(p.bearerTokenFrom, 'prometheus.bearerTokenFrom')} : {}),
      ...(p.username && p.passwordFrom ? {basic: {username: p.username, password: resolveSecret(p.passwordFrom, 'prometheus.passwordFrom')!}} : {})}
    const {usage, series} = await observeRightsizing(conn, {window: f.window, end, namespaces, ...(f.workload ? {workload: f.workload} : {}), resolution: f.resolution, rateRange: Math.round(1.5 * f.resolution)},
      (ns, i, n) => this.note(`reading ${ns} (${i + 1}/${n})...`))
    const prices = unitPrices(r.env.pricing)
    const recs = usage.map((u) => recommend(u, r.env.rightsizing, prices)).sort((a, b) => b.cost.savings - a.cost.savings)
    const total = recs.reduce((a, x) => ({now: a.now + x.cost.now, after: a.after + x.cost.after, savings: a.savings + x.cost.savings}), {now: 0, after: 0, savings: 0})
    const canary = canarySteps(r.name, f['values-out'])
    const result: RightsizingResult = {env: r.name, window: formatDuration(f.window), end: end.toISOString(), queries: queries.count, currency: r.env.pricing.currency, recommendations: recs, total, canary}
    if (f['values-out']) {
      const v = valuesOverlay(recs)
      writeFileSync(f['values-out'], v.yaml)
      result.values = {file: f['values-out'], applied: v.applied, skipped: v.skipped}
      this.note(`values overlay written to ${f['values-out']}: ${v.applied.join(', ') || 'no change for the chart\'s containers'}`)
    }
    const text = f.format === 'csv' ? renderCsv(recs) : f.format === 'html' ? renderHtml(recs, series, {env: r.name, window: result.window, end, currency: result.currency, queries: queries.count, canary})
      : f.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : `${renderTable(recs, result.currency)}\n\nNext: the canary (architecture 10.1, step 4):\n${canary.map((c) => `  ${c}`).join('\n')}\n(${queries.count} Prometheus queries)`
    if (f.out) {
      writeFileSync(f.out, text)
      result.out = f.out
      this.note(`report written to ${f.out}`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text.endsWith('\n') ? text : text + '\n')
    }
    return result
  }
}

/** The methodology's step 4, as commands. */
function canarySteps(env: string, values?: string): string[] {
  const v = values ?? 'rightsizing-values.yaml'
  return [
    `1. Apply to 10% of the pods first: a canary release with the overlay (e.g. vaultctl provision plan --env ${env} --values ${v}, then apply it to a canary Deployment at 10% of the replicas).`,
    '2. Watch for 24 h: error rate, P99 latency and OOM kills of the canary against the rest:',
    '   sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))   (roll back above 1%)',
    '   histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))   (roll back when it rises more than 20%)',
    '   increase(kube_pod_container_status_restarts_total[1h]) and kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}',
    `3. Then everywhere: vaultctl provision apply --env ${env} --values ${v}; or roll back: vaultctl provision apply --env ${env} (without the overlay).`,
  ]
}
