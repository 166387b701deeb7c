// Rules a schema cannot express, checked over the rendered manifests: requests within limits,
// disruption budgets that still let a node drain, autoscaler bounds, the namespace LimitRange, and
// whether the scaled-out tiers fit the namespace quota (a warning: quotas stop scaling silently).
import type {Problem} from './clusterconfig-schema.js'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const UNITS: Record<string, number> = {m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4}

/** A Kubernetes quantity ("500m", "2", "4Gi") as a number (cores or bytes). */
export function quantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q
  if (typeof q !== 'string') return undefined
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q.trim())
  if (!m) return undefined
  return Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1)
}

export type RuleFinding = Problem & {severity: 'error' | 'warning'}

const resourceOf = (d: Json) => `${d.kind} ${d.metadata?.namespace ?? ''}/${d.metadata?.name}`

/** Pod template, its path, and how many replicas at least / at most. */
function podTemplates(d: Json): {spec: Json; path: string}[] {
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(d.kind)) return d.spec?.template?.spec ? [{spec: d.spec.template.spec, path: 'spec.template.spec'}] : []
  if (d.kind === 'CronJob') return d.spec?.jobTemplate?.spec?.template?.spec ? [{spec: d.spec.jobTemplate.spec.template.spec, path: 'spec.jobTemplate.spec.template.spec'}] : []
  if (d.kind === 'Pod') return d.spec ? [{spec: d.spec, path: 'spec'}] : []
  return []
}

export function checkRules(docs: Json[]): RuleFinding[] {
  const out: RuleFinding[] = []
  const limitRanges = docs.filter((d) => d.kind === 'LimitRange')
  const quotas = docs.filter((d) => d.kind === 'ResourceQuota')
  const hpas = docs.filter((d) => d.kind === 'HorizontalPodAutoscaler')
  const scaled = docs.filter((d) => d.kind === 'ScaledObject')
  const bounds = (d: Json): {min: number; max: number} => {
    const hpa = hpas.find((h) => h.metadata?.namespace === d.metadata?.namespace && h.spec?.scaleTargetRef?.kind === d.kind && h.spec?.scaleTargetRef?.name === d.metadata?.name)
    if (hpa) return {min: hpa.spec.minReplicas ?? 1, max: hpa.spec.maxReplicas}
    const so = scaled.find((s) => s.metadata?.namespace === d.metadata?.namespace && s.spec?.scaleTargetRef?.name === d.metadata?.name)
    if (so) return {min: so.spec.minReplicaCount ?? 0, max: so.spec.maxReplicaCount ?? 100}
    const n = d.kind === 'CronJob' ? 1 : (d.spec?.replicas ?? 1)
    return {min: n, max: n}
  }
  const demand = new Map<string, {cpu: number; memory: number; names: string[]}>()

  for (const d of docs) {
    for (const {spec, path} of podTemplates(d)) {
      for (const [i, c] of ((spec.containers ?? []) as Json[]).entries()) {
        const at = `${resourceOf(d)}: ${path}.containers[${i}].resources`
        for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
          const req = quantity(c.resources?.requests?.[r])
          const lim = quantity(c.resources?.limits?.[r])
          if (req !== undefined && lim !== undefined && req > lim) out.push({severity: 'error', path: `${at}.requests.${r}`, message: `request ${c.resources.requests[r]} is above the limit ${c.resources.limits[r]}`})
          if (['cpu', 'memory'].includes(r) && lim === undefined) out.push({severity: 'error', path: `${at}.limits.${r}`, message: `no ${r} limit`})
          const lr = limitRanges.find((l) => l.metadata?.namespace === d.metadata?.namespace)
          const max = quantity(lr?.spec?.limits?.find((x: Json) => x.type === 'Container')?.max?.[r])
          if (lim !== undefined && max !== undefined && lim > max) out.push({severity: 'error', path: `${at}.limits.${r}`, message: `limit ${c.resources.limits[r]} is above the namespace LimitRange max ${lr!.spec.limits.find((x: Json) => x.type === 'Container').max[r]}`})
        }
        const b = bounds(d)
        const ns = d.metadata?.namespace ?? ''
        const cur = demand.get(ns) ?? {cpu: 0, memory: 0, names: []}
        cur.cpu += (quantity(c.resources?.requests?.cpu) ?? 0) * b.max
        cur.memory += (quantity(c.resources?.requests?.memory) ?? 0) * b.max
        cur.names.push(`${d.metadata?.name} x${b.max}`)
        demand.set(ns, cur)
      }
    }
    if (d.kind === 'HorizontalPodAutoscaler' && d.spec?.minReplicas > d.spec?.maxReplicas) {
      out.push({severity: 'error', path: `${resourceOf(d)}: spec.minReplicas`, message: `minReplicas ${d.spec.minReplicas} is above maxReplicas ${d.spec.maxReplicas}`})
    }
    if (d.kind === 'PodDisruptionBudget' && typeof d.spec?.minAvailable === 'number') {
      const sel = d.spec.selector?.matchLabels ?? {}
      const target = docs.find((w) => ['Deployment', 'StatefulSet'].includes(w.kind) && w.metadata?.namespace === d.metadata?.namespace
        && Object.entries(sel).every(([k, v]) => w.spec?.template?.metadata?.labels?.[k] === v))
      if (!target) {
        out.push({severity: 'error', path: `${resourceOf(d)}: spec.selector`, message: 'selects no workload of this chart'})
      } else if (d.spec.minAvailable >= bounds(target).min) {
        out.push({severity: 'error', path: `${resourceOf(d)}: spec.minAvailable`, message: `minAvailable ${d.spec.minAvailable} is not below the ${bounds(target).min} replica(s) of ${target.kind} ${target.metadata.name}: no pod could ever be evicted, so nodes cannot drain`})
      }
    }
  }
  for (const q of quotas) {
    const ns = q.metadata?.namespace
    const need = demand.get(ns)
    if (!need) continue
    for (const [r, key] of [['cpu', 'requests.cpu'], ['memory', 'requests.memory']] as const) {
      const hard = quantity(q.spec?.hard?.[key])
      if (hard !== undefined && need[r] > hard) {
        out.push({severity: 'warning', path: `${resourceOf(q)}: spec.hard.${key}`, message: `fully scaled out, the workloads request ${r === 'cpu' ? need.cpu.toFixed(1) : `${(need.memory / 1024 ** 3).toFixed(0)}Gi`} (${need.names.join(', ')}), above the quota ${q.spec.hard[key]}: scaling would stop there`})
      }
    }
  }
  return out
}
