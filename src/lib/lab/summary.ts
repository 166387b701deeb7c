// What `lab up` reports: each service's endpoint, state and how long it took to start.
import type {ExecutionResult, PlanData} from '../plan/types.js'
import {labConfigFile} from '../paths.js'
import {table} from '../table.js'
import {portOf, type LabLayout} from './layout.js'
import {labStatus} from './plan.js'
import {waitUntil} from '../wait.js'

export type LabServiceRow = {service: string; endpoint: string; ready: boolean; startSeconds?: number; detail: string}
export type LabUpResult =
  | {dryRun: true; plan: PlanData}
  | {dryRun: false; dir: string; environmentFile: string; services: LabServiceRow[]; execution: ExecutionResult}

export function endpointOf(l: LabLayout, service: string, port: number): string {
  if (service.startsWith('redis')) return `rediss://127.0.0.1:${port}`
  if (service.startsWith('patroni')) return `https://127.0.0.1:${port} (postgres 127.0.0.1:${portOf(l, `postgres-${service.split('-')[1]}`)})`
  // the control plane serves TLS (the API server with the lab CA; kubeconfig: <dir>/kubernetes/admin.kubeconfig)
  if (service === 'kube-apiserver' || service === 'kube-controller-manager' || service === 'kube-scheduler') return `https://127.0.0.1:${port}`
  return `http://127.0.0.1:${port}`
}

/** Every service must answer at the end, not only when its own step ran (a member may restart after). */
async function settledStatus(l: LabLayout, waitMs: number): Promise<Awaited<ReturnType<typeof labStatus>>> {
  let last: Awaited<ReturnType<typeof labStatus>> = []
  return waitUntil({what: 'every lab service ready', timeoutMs: waitMs, intervalMs: 500, maxIntervalMs: 500}, async () => {
    last = await labStatus(l)
    return last.every((s) => s.ready) ? {done: true, value: last} : {done: false, status: last.filter((s) => !s.ready).map((s) => s.service).join(', ')}
  }).catch(() => last)
}

export async function labSummary(l: LabLayout, execution: ExecutionResult, waitMs = 30_000): Promise<{table: string; json: LabUpResult; notReady: string[]}> {
  const status = await settledStatus(l, waitMs)
  const services: LabServiceRow[] = status.map((s) => {
    const step = execution.steps.find((x) => x.id === `start-${s.service}`)
    return {service: s.service, endpoint: endpointOf(l, s.service, s.port), ready: s.ready,
      ...(step?.status === 'succeeded' ? {startSeconds: step.durationMs / 1000} : {}), detail: s.detail}
  })
  const t = table(['SERVICE', 'ENDPOINT', 'READY', 'STARTED IN', 'DETAIL'],
    services.map((s) => [s.service, s.endpoint, s.ready ? 'yes' : 'NO', s.startSeconds === undefined ? 'already up' : `${s.startSeconds.toFixed(2)} s`, s.detail]))
  const file = labConfigFile(l.dir)
  return {
    table: `${t}\n\nLab environment written to ${file}\nTotal: ${(execution.durationMs / 1000).toFixed(1)} s. Try: vaultctl status${l.dir === undefined ? '' : ''}`,
    json: {dryRun: false, dir: l.dir, environmentFile: file, services, execution},
    notReady: services.filter((x) => !x.ready).map((x) => x.service),
  }
}
