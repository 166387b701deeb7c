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
