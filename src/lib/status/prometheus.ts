// Prometheus reachable and ready (right-sizing reports depend on it).
import {prometheusReady} from '../clients/prometheus.js'
import type {Environment} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import type {StatusRow} from './types.js'

export async function prometheusStatus(env: Environment): Promise<StatusRow[]> {
  if (!env.prometheus) return []
  const url = env.prometheus.url
  try {
    const r = await prometheusReady(url)
    return [{component: 'prometheus', name: url, state: r.ready ? 'ready' : 'not ready', rating: r.ready ? 'ok' : 'crit', detail: r.detail}]
  } catch (error) {
    return [{component: 'prometheus', name: url, state: 'unreachable', rating: 'crit', detail: errorMessage(error)}]
  }
}
