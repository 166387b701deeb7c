// What the StatefulSet restore plan is built from, read through the Kubernetes API: the
// StatefulSet and its restore record, pod 0's claim, restore Jobs, and pod 0's Patroni (through the
// API server's pod proxy).
import type {KubeWhere} from '../plan/ops-lab.js'
import {restoreJobName, type StatefulSetObserved, type StatefulSetTarget} from './into-k8s.js'
import type {RecoveryTarget} from './target.js'

export async function observeStatefulSet(cluster: KubeWhere, k: StatefulSetTarget, target: RecoveryTarget): Promise<StatefulSetObserved> {
  const {kubeConfig, jobsWithLabels, podProxy, pvcExists, statefulSetState} = await import('../clients/kube.js')
  const kc = await kubeConfig(cluster.kubeconfig, cluster.context)
  const [sts, claimExists, jobs] = await Promise.all([statefulSetState(kc, k.namespace, k.statefulSet), pvcExists(kc, k.namespace, `${k.volumeClaimTemplate}-${k.statefulSet}-0`),
    jobsWithLabels(kc, k.namespace, {'app.kubernetes.io/component': 'postgres-pitr', 'vaultctl.io/statefulset': k.statefulSet})])
  const name = restoreJobName(k, target)
  const job = jobs.find((j) => j.name === name)
  const other = jobs.find((j) => j.name !== name && j.state === 'active')
  let patroni: StatefulSetObserved['patroni']
  try {
    const r = await podProxy(kc, {namespace: k.namespace, pod: `${k.statefulSet}-0`, port: k.patroniPort, method: 'GET', path: '/patroni', timeoutMs: 5000})
    if (r.status !== 200 && r.status !== 503) throw new Error(`HTTP ${r.status}: ${r.text.trim().slice(0, 200)}`)
    const j = JSON.parse(r.text) as {role?: string; state?: string; timeline?: number; pause?: boolean}
    patroni = {role: j.role ?? '?', state: j.state ?? '?', timeline: j.timeline ?? 0, paused: j.pause === true}
  } catch (error) {
    patroni = {error: (error as Error).message}
  }
  return {...(sts ? {statefulSet: {replicas: sts.replicas, ready: sts.ready, annotations: sts.annotations}} : {}), claimExists, ...(job ? {job} : {}), ...(other ? {otherJob: other.name} : {}), patroni}
}
