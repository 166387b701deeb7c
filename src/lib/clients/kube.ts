// The Kubernetes API through @kubernetes/client-node (imported lazily): a client from a kubeconfig
// (and context), and the few calls the lab needs; plus a TLS probe for the control plane's own
// health endpoints (/readyz, /healthz) with the lab's client certificate.
import {readFileSync} from 'node:fs'
import {request} from 'node:https'
import type {KubeConfig} from '@kubernetes/client-node'

export type {KubeConfig}
import type {LabNode} from '../lab/kubernetes.js'

export async function kubeConfig(file: string, context?: string): Promise<KubeConfig> {
  const k8s = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(file)
  if (context) kc.setCurrentContext(context)
  return kc
}

/** The client of a cluster named by a kubeconfig and, optionally, a context (KubeWhere). */
export const clusterConfig = (c: {kubeconfig: string; context?: string}): Promise<KubeConfig> => kubeConfig(c.kubeconfig, c.context)

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
  const existing = new Map((await core.listNode()).items.map((n) => [n.metadata?.name, n]))
  const created: string[] = []
  for (const n of nodes) {
    const have = existing.get(n.name)
    if (have) {
      // a lab made before a capacity was added (ephemeral-storage): bring its status up to date
      const cap = have.status?.capacity ?? {}
      if (Object.entries(n.capacity).some(([k, v]) => cap[k] !== v)) {
        await core.patchNodeStatus({name: n.name, body: {status: {capacity: n.capacity, allocatable: n.capacity}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
      }
      continue
    }
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
  backups?: {name: string; phase: string; createdAt?: string; completedAt?: string; expiresAt?: string; schedule?: string}[]
}

export async function clusterView(kc: KubeConfig, namespaces: string[], veleroNamespace: string): Promise<ClusterView> {
  const k8s = await import('@kubernetes/client-node')
  const policy = kc.makeApiClient(k8s.PolicyV1Api)
  const custom = kc.makeApiClient(k8s.CustomObjectsApi)
  const perNs = await Promise.all(namespaces.map(async (namespace) => {
    const [w, p] = await Promise.all([workloadReadiness(kc, namespace), policy.listNamespacedPodDisruptionBudget({namespace})])
    return {
      workloads: w.filter((x): x is ClusterView['workloads'][number] => x.kind !== 'DaemonSet'),
      pdbs: p.items.map((x) => ({namespace, name: x.metadata?.name ?? '', allowed: x.status?.disruptionsAllowed ?? 0, healthy: x.status?.currentHealthy ?? 0, desiredHealthy: x.status?.desiredHealthy ?? 0})),
    }
  }))
  let backups: ClusterView['backups']
  try {
    const list = await custom.listNamespacedCustomObject({group: 'velero.io', version: 'v1', namespace: veleroNamespace, plural: 'backups'}) as {items?: {metadata?: {name?: string; labels?: Record<string, string>; creationTimestamp?: string}; status?: {phase?: string; completionTimestamp?: string; expiration?: string}}[]}
    backups = (list.items ?? []).map((b) => ({name: b.metadata?.name ?? '', phase: b.status?.phase ?? 'New', ...(b.metadata?.creationTimestamp ? {createdAt: String(b.metadata.creationTimestamp)} : {}), ...(b.status?.completionTimestamp ? {completedAt: b.status.completionTimestamp} : {}),
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

/** Does what `read` reads exist? (404: no; anything else is an error) */
async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read()
    return true
  } catch (error) {
    if ((error as {code?: number}).code === 404) return false
    throw error
  }
}

export async function serviceAccountExists(kc: KubeConfig, namespace: string, name: string): Promise<boolean> {
  const k8s = await import('@kubernetes/client-node')
  return exists(() => kc.makeApiClient(k8s.CoreV1Api).readNamespacedServiceAccount({name, namespace}))
}

/** The API server's own message in a client error (its Status body), else the error's. */
export function apiMessage(error: unknown): string {
  const body = (error as {body?: unknown}).body
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as {message?: string}).message ?? body
    } catch {
      return body
    }
  }
  return (body as {message?: string} | undefined)?.message ?? (error as Error).message
}

type KubeObject = {apiVersion: string; kind: string; metadata: {name: string; namespace?: string}}

/** Which of these objects exist (by apiVersion, kind, namespace, name). */
export async function objectsExist(kc: KubeConfig, objects: KubeObject[], concurrency = 8): Promise<boolean[]> {
  const k8s = await import('@kubernetes/client-node')
  const api = k8s.KubernetesObjectApi.makeApiClient(kc)
  const out: boolean[] = Array.from({length: objects.length}, () => false)
  let next = 0
  await Promise.all(Array.from({length: Math.min(concurrency, objects.length)}, async () => {
    while (next < objects.length) {
      const i = next++
      try {
        await api.read(objects[i] as never)
        out[i] = true
      } catch (error) {
        if ((error as {code?: number}).code !== 404) throw error
      }
    }
  }))
  return out
}

/** A server-side dry-run create (or, with `update`, a dry-run replace) of each object: what the API server says, without persisting anything. */
export async function dryRunObjects(kc: KubeConfig, objects: {object: Record<string, unknown>; update: boolean}[]): Promise<{ok: boolean; message?: string}[]> {
  const k8s = await import('@kubernetes/client-node')
  const api = k8s.KubernetesObjectApi.makeApiClient(kc)
  const out: {ok: boolean; message?: string}[] = []
  for (const {object, update} of objects) {
    try {
      if (update) await api.patch(object as never, undefined, 'All', 'vaultctl', true, k8s.PatchStrategy.ServerSideApply)
      else await api.create(object as never, undefined, 'All', 'vaultctl')
      out.push({ok: true})
    } catch (error) {
      out.push({ok: false, message: apiMessage(error)})
    }
  }
  return out
}

/** What a namespace holds beyond what Kubernetes puts in every namespace (the default ServiceAccount, kube-root-ca.crt). undefined: no such namespace. */
export async function namespaceContents(kc: KubeConfig, namespace: string): Promise<string[] | undefined> {
  const k8s = await import('@kubernetes/client-node')
  const core = kc.makeApiClient(k8s.CoreV1Api)
  if (!await exists(() => core.readNamespace({name: namespace}))) return undefined
  const apps = kc.makeApiClient(k8s.AppsV1Api)
  const batch = kc.makeApiClient(k8s.BatchV1Api)
  const names = (kind: string, items: {metadata?: {name?: string}}[], skip: string[] = []) => items.map((i) => i.metadata?.name ?? '').filter((n) => !skip.includes(n)).map((n) => `${kind}/${n}`)
  const [pods, svc, cm, sec, pvc, sa, dep, sts, ds, jobs, cron] = await Promise.all([
    core.listNamespacedPod({namespace}), core.listNamespacedService({namespace}), core.listNamespacedConfigMap({namespace}), core.listNamespacedSecret({namespace}),
    core.listNamespacedPersistentVolumeClaim({namespace}), core.listNamespacedServiceAccount({namespace}), apps.listNamespacedDeployment({namespace}),
    apps.listNamespacedStatefulSet({namespace}), apps.listNamespacedDaemonSet({namespace}), batch.listNamespacedJob({namespace}), batch.listNamespacedCronJob({namespace})])
  return [...names('deployment', dep.items), ...names('statefulset', sts.items), ...names('daemonset', ds.items), ...names('cronjob', cron.items), ...names('job', jobs.items),
    ...names('pod', pods.items), ...names('service', svc.items), ...names('persistentvolumeclaim', pvc.items), ...names('configmap', cm.items, ['kube-root-ca.crt']),
    ...names('secret', sec.items), ...names('serviceaccount', sa.items, ['default'])]
}

/** The Deployments, StatefulSets and DaemonSets of a namespace, desired against ready. */
export async function workloadReadiness(kc: KubeConfig, namespace: string): Promise<{kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; namespace: string; name: string; desired: number; ready: number}[]> {
  const k8s = await import('@kubernetes/client-node')
  const apps = kc.makeApiClient(k8s.AppsV1Api)
  const [d, s, ds] = await Promise.all([apps.listNamespacedDeployment({namespace}), apps.listNamespacedStatefulSet({namespace}), apps.listNamespacedDaemonSet({namespace})])
  return [
    ...d.items.map((x) => ({kind: 'Deployment' as const, namespace, name: x.metadata?.name ?? '', desired: x.spec?.replicas ?? 1, ready: x.status?.readyReplicas ?? 0})),
    ...s.items.map((x) => ({kind: 'StatefulSet' as const, namespace, name: x.metadata?.name ?? '', desired: x.spec?.replicas ?? 1, ready: x.status?.readyReplicas ?? 0})),
    ...ds.items.map((x) => ({kind: 'DaemonSet' as const, namespace, name: x.metadata?.name ?? '', desired: x.status?.desiredNumberScheduled ?? 0, ready: x.status?.numberReady ?? 0})),
  ]
}

/** The names of these CRDs that are Established. */
export async function establishedCrds(kc: KubeConfig, names: string[]): Promise<string[]> {
  const k8s = await import('@kubernetes/client-node')
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api)
  const all = await api.listCustomResourceDefinition()
  return all.items.filter((c) => names.includes(c.metadata?.name ?? '') && (c.status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True')).map((c) => c.metadata?.name ?? '')
}

/**
 * A server-side apply dry-run (dryRun=All) of each manifest against the cluster. Objects bound for
 * a namespace that does not exist yet (one the same manifests create) are checked in namespace
 * default: the API server cannot dry-run into a namespace that is not there.
 */
export async function dryRunManifests(cluster: {kubeconfig: string; context?: string}, docs: Record<string, unknown>[]): Promise<{id: string; ok: boolean; message?: string; standIn: boolean; server: string}[]> {
  const kc = await kubeConfig(cluster.kubeconfig, cluster.context)
  const k8s = await import('@kubernetes/client-node')
  const server = kc.getCurrentCluster()?.server ?? '?'
  const namespaces = new Set((await kc.makeApiClient(k8s.CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name))
  const out: {id: string; ok: boolean; message?: string; standIn: boolean; server: string}[] = []
  const api = k8s.KubernetesObjectApi.makeApiClient(kc)
  for (const d of docs) {
    const meta = (d.metadata ?? {}) as {name?: string; namespace?: string}
    const id = `${String(d.kind)} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name}`
    const standIn = !!meta.namespace && !namespaces.has(meta.namespace)
    const body = standIn ? {...d, metadata: {...meta, namespace: 'default'}} : d
    try {
      await api.patch(body as never, undefined, 'All', 'vaultctl', true, k8s.PatchStrategy.ServerSideApply)
      out.push({id, ok: true, standIn, server})
    } catch (error) {
      out.push({id, ok: false, message: apiMessage(error), standIn, server})
    }
  }
  return out
}

/** An HTTP request to a port of a pod through the API server's pod proxy (pods/proxy), with the kubeconfig's credentials. */
export async function podProxy(kc: KubeConfig, o: {namespace: string; pod: string; port: number; method: string; path: string; body?: unknown; timeoutMs?: number}): Promise<{status: number; text: string}> {
  const server = kc.getCurrentCluster()?.server
  if (!server) throw new Error('the kubeconfig names no server')
  const url = new URL(`${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}:${o.port}/proxy${o.path}`)
  const opts: import('node:https').RequestOptions = {method: o.method, timeout: o.timeoutMs ?? 10_000, headers: o.body === undefined ? {} : {'content-type': 'application/json'}}
  await kc.applyToHTTPSOptions(opts)
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
    })
    req.on('timeout', () => req.destroy(new Error(`${o.pod}:${o.port}${o.path}: no answer within ${o.timeoutMs ?? 10_000} ms`)))
    req.on('error', reject)
    if (o.body !== undefined) req.write(JSON.stringify(o.body))
    req.end()
  })
}

/** A StatefulSet's desired and ready replicas, annotations, and the ordinals of its pods that exist. */
export async function statefulSetState(kc: KubeConfig, namespace: string, name: string): Promise<{replicas: number; ready: number; annotations: Record<string, string>; pods: {name: string; ordinal: number; ready: boolean}[]} | undefined> {
  const k8s = await import('@kubernetes/client-node')
  let s
  try {
    s = await kc.makeApiClient(k8s.AppsV1Api).readNamespacedStatefulSet({name, namespace})
  } catch (error) {
    if ((error as {code?: number}).code === 404) return undefined
    throw error
  }
  const selector = Object.entries(s.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')
  const pods = (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({namespace, labelSelector: selector})).items
    .filter((p) => p.metadata?.name?.startsWith(`${name}-`) && /^\d+$/.test(p.metadata.name.slice(name.length + 1)))
    .map((p) => ({name: p.metadata!.name!, ordinal: Number(p.metadata!.name!.slice(name.length + 1)),
      ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp}))
  return {replicas: s.spec?.replicas ?? 1, ready: s.status?.readyReplicas ?? 0, annotations: s.metadata?.annotations ?? {}, pods}
}

export async function scaleStatefulSet(kc: KubeConfig, namespace: string, name: string, replicas: number): Promise<void> {
  const k8s = await import('@kubernetes/client-node')
  await kc.makeApiClient(k8s.AppsV1Api).patchNamespacedStatefulSetScale({name, namespace, body: {spec: {replicas}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
}

/** Merge-patch annotations (a null value removes one). */
export async function annotate(kc: KubeConfig, target: {apiVersion: string; kind: string; namespace?: string; name: string}, annotations: Record<string, string | null>): Promise<void> {
  const k8s = await import('@kubernetes/client-node')
  await k8s.KubernetesObjectApi.makeApiClient(kc).patch({apiVersion: target.apiVersion, kind: target.kind, metadata: {name: target.name, ...(target.namespace ? {namespace: target.namespace} : {}), annotations}} as never,
    undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch)
}

/** Delete objects; those already gone are fine. Returns what was deleted. */
export async function deleteObjects(kc: KubeConfig, objects: {apiVersion: string; kind: string; namespace?: string; name: string}[]): Promise<string[]> {
  const k8s = await import('@kubernetes/client-node')
  const api = k8s.KubernetesObjectApi.makeApiClient(kc)
  const out: string[] = []
  for (const o of objects) {
    try {
      await api.delete({apiVersion: o.apiVersion, kind: o.kind, metadata: {name: o.name, ...(o.namespace ? {namespace: o.namespace} : {})}} as never)
      out.push(`${o.kind}/${o.name}`)
    } catch (error) {
      if ((error as {code?: number}).code !== 404) throw error
    }
  }
  return out
}

export async function pvcExists(kc: KubeConfig, namespace: string, name: string): Promise<boolean> {
  const k8s = await import('@kubernetes/client-node')
  return exists(() => kc.makeApiClient(k8s.CoreV1Api).readNamespacedPersistentVolumeClaim({name, namespace}))
}

/** The Jobs of a namespace with these labels: name, state and an annotation. */
export async function jobsWithLabels(kc: KubeConfig, namespace: string, labels: Record<string, string>): Promise<{name: string; state: 'active' | 'complete' | 'failed'}[]> {
  const k8s = await import('@kubernetes/client-node')
  const jobs = await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({namespace, labelSelector: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')})
  return jobs.items.map((j) => {
    const c = (j.status?.conditions ?? []).find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True')?.type
    return {name: j.metadata?.name ?? '', state: c === 'Complete' ? 'complete' as const : c === 'Failed' ? 'failed' as const : 'active' as const}
  })
}
