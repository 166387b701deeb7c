// The Kubernetes API through @kubernetes/client-node (imported lazily): a client from a kubeconfig
// (and context), and the few calls the lab needs; plus a TLS probe for the control plane's own
// health endpoints (/readyz, /healthz) with the lab's client certificate.
import {readFileSync} from 'node:fs'
import {request} from 'node:https'
import type {KubeConfig} from '@kubernetes/client-node'
import type {LabNode} from '../lab/kubernetes.js'

export async function kubeConfig(file: string, context?: string): Promise<KubeConfig> {
  const k8s = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(file)
  if (context) kc.setCurrentContext(context)
  return kc
}

/** GET over TLS: with a CA and client certificate (the API server), or accepting a self-signed serving cert (controller-manager, scheduler). */
export function tlsGet(url: string, o: {ca?: string; cert?: string; key?: string; timeoutMs?: number} = {}): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'GET', timeout: o.timeoutMs ?? 2000,
      ...(o.ca ? {ca: readFileSync(o.ca)} : {rejectUnauthorized: false}), ...(o.cert && o.key ? {cert: readFileSync(o.cert), key: readFileSync(o.key)} : {})}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
    })
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${o.timeoutMs ?? 2000} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** Create the lab's nodes that are missing (kwok takes over those annotated kwok.x-k8s.io/node=fake). */
export async function ensureNodes(kc: KubeConfig, nodes: LabNode[]): Promise<{created: string[]}> {
  const k8s = await import('@kubernetes/client-node')
  const core = kc.makeApiClient(k8s.CoreV1Api)
  const existing = new Set((await core.listNode()).items.map((n) => n.metadata?.name))
  const created: string[] = []
  for (const n of nodes) {
    if (existing.has(n.name)) continue
    await core.createNode({body: {apiVersion: 'v1', kind: 'Node',
      metadata: {name: n.name, labels: n.labels, annotations: {'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0'}},
      spec: {taints: n.taints},
      status: {capacity: n.capacity, allocatable: n.capacity, nodeInfo: {architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'fake', kubeProxyVersion: 'fake',
        bootID: '', containerRuntimeVersion: '', kernelVersion: '', machineID: '', osImage: '', systemUUID: ''}}}})
    created.push(n.name)
  }
  return {created}
}

/** The nodes and whether each is Ready. */
export async function nodeReadiness(kc: KubeConfig): Promise<{name: string; ready: boolean; labels: Record<string, string>}[]> {
  const k8s = await import('@kubernetes/client-node')
  const core = kc.makeApiClient(k8s.CoreV1Api)
  return (await core.listNode()).items.map((n) => ({name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {},
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')}))
}

/** Seconds since each node's lease (kube-node-lease) was last renewed. */
export async function leaseAges(kc: KubeConfig, now = Date.now()): Promise<Record<string, number>> {
  const k8s = await import('@kubernetes/client-node')
  const leases = await kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({namespace: 'kube-node-lease'})
  return Object.fromEntries(leases.items.map((l) => [l.metadata?.name ?? '', l.spec?.renewTime ? (now - new Date(l.spec.renewTime as unknown as string).getTime()) / 1000 : Infinity]))
}

/** What `vaultctl status` reads of a cluster: nodes, the vault namespaces' workloads and PDBs, Velero's backups. */
export type ClusterView = {
  nodes: {name: string; ready: boolean; labels: Record<string, string>}[]
  workloads: {kind: 'Deployment' | 'StatefulSet'; namespace: string; name: string; desired: number; ready: number}[]
  pdbs: {namespace: string; name: string; allowed: number; healthy: number; desiredHealthy: number}[]
  /** undefined: Velero's CRDs are not installed */
  backups?: {name: string; phase: string; completedAt?: string; expiresAt?: string; schedule?: string}[]
}

export async function clusterView(kc: KubeConfig, namespaces: string[], veleroNamespace: string): Promise<ClusterView> {
  const k8s = await import('@kubernetes/client-node')
  const apps = kc.makeApiClient(k8s.AppsV1Api)
  const policy = kc.makeApiClient(k8s.PolicyV1Api)
  const custom = kc.makeApiClient(k8s.CustomObjectsApi)
  const perNs = await Promise.all(namespaces.map(async (namespace) => {
    const [d, s, p] = await Promise.all([apps.listNamespacedDeployment({namespace}), apps.listNamespacedStatefulSet({namespace}), policy.listNamespacedPodDisruptionBudget({namespace})])
    return {
      workloads: [...d.items.map((x) => ({kind: 'Deployment' as const, namespace, name: x.metadata?.name ?? '', desired: x.spec?.replicas ?? 1, ready: x.status?.readyReplicas ?? 0})),
        ...s.items.map((x) => ({kind: 'StatefulSet' as const, namespace, name: x.metadata?.name ?? '', desired: x.spec?.replicas ?? 1, ready: x.status?.readyReplicas ?? 0}))],
      pdbs: p.items.map((x) => ({namespace, name: x.metadata?.name ?? '', allowed: x.status?.disruptionsAllowed ?? 0, healthy: x.status?.currentHealthy ?? 0, desiredHealthy: x.status?.desiredHealthy ?? 0})),
    }
  }))
  let backups: ClusterView['backups']
  try {
    const list = await custom.listNamespacedCustomObject({group: 'velero.io', version: 'v1', namespace: veleroNamespace, plural: 'backups'}) as {items?: {metadata?: {name?: string; labels?: Record<string, string>}; status?: {phase?: string; completionTimestamp?: string; expiration?: string}}[]}
    backups = (list.items ?? []).map((b) => ({name: b.metadata?.name ?? '', phase: b.status?.phase ?? 'New', ...(b.status?.completionTimestamp ? {completedAt: b.status.completionTimestamp} : {}),
      ...(b.status?.expiration ? {expiresAt: b.status.expiration} : {}), ...(b.metadata?.labels?.['velero.io/schedule-name'] ? {schedule: b.metadata.labels['velero.io/schedule-name']} : {})}))
  } catch (error) {
    if ((error as {code?: number}).code !== 404) throw error
  }
  return {nodes: await nodeReadiness(kc), workloads: perNs.flatMap((x) => x.workloads), pdbs: perNs.flatMap((x) => x.pdbs), ...(backups ? {backups} : {})}
}

/** Server-side apply (field manager vaultctl, conflicts forced), or its server-side dry-run. */
export async function applyObjects(kc: KubeConfig, objects: Record<string, unknown>[], dryRun = false): Promise<string[]> {
  const k8s = await import('@kubernetes/client-node')
  const api = k8s.KubernetesObjectApi.makeApiClient(kc)
  const out: string[] = []
  for (const o of objects) {
    const r = await api.patch(o as never, undefined, dryRun ? 'All' : undefined, 'vaultctl', true, k8s.PatchStrategy.ServerSideApply)
    out.push(`${(r as {kind?: string}).kind}/${(r as {metadata?: {name?: string}}).metadata?.name}`)
  }
  return out
}

export type JobState = {succeeded: number; failed: number; active: number; completions: number; condition?: 'Complete' | 'Failed'; failedIndexes?: string}

export async function jobState(kc: KubeConfig, namespace: string, name: string): Promise<JobState> {
  const k8s = await import('@kubernetes/client-node')
  const j = await kc.makeApiClient(k8s.BatchV1Api).readNamespacedJob({name, namespace})
  const done = (j.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type as JobState['condition']
  return {succeeded: j.status?.succeeded ?? 0, failed: j.status?.failed ?? 0, active: j.status?.active ?? 0, completions: j.spec?.completions ?? 1,
    ...(done ? {condition: done} : {}), ...(j.status?.failedIndexes ? {failedIndexes: j.status.failedIndexes} : {})}
}

/** Does this object exist? (404: no; anything else is an error) */
export async function serviceAccountExists(kc: KubeConfig, namespace: string, name: string): Promise<boolean> {
  const k8s = await import('@kubernetes/client-node')
  try {
    await kc.makeApiClient(k8s.CoreV1Api).readNamespacedServiceAccount({name, namespace})
    return true
  } catch (error) {
    if ((error as {code?: number}).code === 404) return false
    throw error
  }
}
