// One view of an environment: every component checked in parallel, each row rated.
import type {Environment} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import {clusterOf} from '../kube/cluster.js'
import {table} from '../table.js'
import {kubernetesStatus} from './kubernetes.js'
import {postgresStatus} from './postgres.js'
import {prometheusStatus} from './prometheus.js'
import {redisStatus} from './redis.js'
import {s3Status} from './s3.js'
import {worst, type Rating, type StatusRow} from './types.js'

export const COMPONENTS = ['postgres', 'redis', 's3', 'prometheus', 'kubernetes'] as const
export type Component = (typeof COMPONENTS)[number]

const checks: Record<Component, (env: Environment) => Promise<StatusRow[]>> = {
  postgres: postgresStatus, redis: redisStatus, s3: s3Status, prometheus: prometheusStatus, kubernetes: kubernetesStatus,
}

export type StatusResult = {
  env: string
  rating: Rating
  counts: Record<Rating, number>
  components: {component: Component; configured: boolean; rating: Rating; rows: StatusRow[]}[]
}

export async function collectStatus(name: string, env: Environment, only?: Component[]): Promise<StatusResult> {
  const wanted = only && only.length ? only : [...COMPONENTS]
  const components = await Promise.all(wanted.map(async (component) => {
    const configured = component === 'kubernetes' ? clusterOf(env) !== undefined : Boolean(env[component])
    let rows: StatusRow[]
    try {
      rows = await checks[component](env)
    } catch (error) {
      rows = [{component, name: component, state: 'error', rating: 'crit', detail: errorMessage(error)}]
    }
    return {component, configured, rating: configured ? worst(rows.map((r) => r.rating)) : ('ok' as Rating), rows}
  }))
  const all = components.flatMap((c) => c.rows)
  const counts = {ok: 0, warn: 0, crit: 0}
  for (const r of all) counts[r.rating]++
  return {env: name, rating: worst(all.map((r) => r.rating)), counts, components}
}

export function formatStatus(res: StatusResult, color: (r: Rating, s: string) => string): string {
  const out: string[] = [`Environment ${res.env}: ${color(res.rating, res.rating.toUpperCase())} (${res.counts.ok} ok, ${res.counts.warn} warn, ${res.counts.crit} crit)`]
  for (const c of res.components) {
    out.push('')
    if (!c.configured) {
      out.push(`${c.component.toUpperCase()}: not configured for this environment`)
      continue
    }
    out.push(`${c.component.toUpperCase()}: ${color(c.rating, c.rating)}`)
    const t = table(['RATING', 'NAME', 'ROLE', 'STATE', 'DETAIL'], c.rows.map((r) => [r.rating.toUpperCase(), r.name, r.role ?? '', r.state, r.detail]))
    // colour after layout so the padding stays right
    out.push(t.split('\n').map((line, i) => (i === 0 ? line : color(c.rows[i - 1]!.rating, line.slice(0, 4)) + line.slice(4))).join('\n'))
  }
  return out.join('\n')
}
