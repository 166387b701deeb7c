// The executor of the Kubernetes and Velero operations (src/lib/plan/ops-kube.ts).
import {readFileSync} from 'node:fs'
import {parseAllDocuments} from 'yaml'
import {failure, refusal} from '../errors.js'
import type {KubeOperation, KubeOperationResult, VeleroMessages} from '../plan/ops-kube.js'
import {waitUntil} from '../wait.js'
import type {OperationContext} from './operations.js'
import {annotate, applyObjects, clusterConfig, deleteObjects, establishedCrds, podProxy, scaleStatefulSet, statefulSetState, workloadReadiness} from './kube.js'
import {createVelero, getVelero, gunzipJson, veleroDownload} from './velero.js'

type Op<K extends KubeOperation['kind']> = Extract<KubeOperation, {kind: K}>
const FINAL = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'])
const emptyMessages = (): VeleroMessages => ({velero: [], cluster: [], namespaces: {}})

async function applyFile(op: Op<'kube.apply-file'>, ctx: OperationContext): Promise<KubeOperationResult['kube.apply-file']> {
  const kc = await clusterConfig(op.cluster)
  const docs = parseAllDocuments(readFileSync(op.file, 'utf8')).map((d) => d.toJSON() as Record<string, unknown> | null).filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
  // `velero install -o yaml` prints a List
  const objects = docs.flatMap((d) => (d.kind === 'List' && Array.isArray(d.items) ? d.items as Record<string, unknown>[] : [d]))
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => (o.metadata as {name: string}).name)
  // A freshly read object carries server fields (status, resourceVersion): apply only what a manifest holds.
  await applyObjects(kc, objects.map(({status: _s, ...o}) => o))
  const established = await waitUntil({what: `${crds.length} CRDs Established`, timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 1000, signal: ctx.signal, code: 'KUBE_NOT_READY'}, async () => {
    const ok = await establishedCrds(kc, crds)
    return ok.length === crds.length ? {done: true, value: ok} : {done: false, status: `${ok.length}/${crds.length} CRDs Established`}
  })
  return {applied: objects.length, established}
}

/** Velero's results file (per scope): velero, cluster, namespaces. */
type ResultsFile = {warnings?: Partial<VeleroMessages>; errors?: Partial<VeleroMessages>}
const messages = (m?: Partial<VeleroMessages>): VeleroMessages => ({velero: m?.velero ?? [], cluster: m?.cluster ?? [], namespaces: m?.namespaces ?? {}})

export function formatMessages(title: string, m: VeleroMessages): string[] {
  const lines = [...m.velero.map((x) => `  velero: ${x}`), ...m.cluster.map((x) => `  cluster: ${x}`),
    ...Object.entries(m.namespaces).flatMap(([ns, xs]) => xs.map((x) => `  namespace ${ns}: ${x}`))]
  return lines.length ? [`${title}:`, ...lines] : []
}

async function awaitVelero(op: Op<'velero.await'>, ctx: OperationContext): Promise<KubeOperationResult['velero.await']> {
  const kc = await clusterConfig(op.cluster)
  const plural = op.of === 'Restore' ? 'restores' : 'backups'
  const t0 = Date.now()
  const item = await waitUntil({what: `${op.of} ${op.name} finished`, timeoutMs: op.timeoutMs, intervalMs: 250, maxIntervalMs: 2000, signal: ctx.signal, code: 'VELERO_TIMEOUT',
    suggestions: [`It goes on in the cluster: velero -n ${op.namespace} ${op.of.toLowerCase()} describe ${op.name}; re-running the same command waits for it again.`],
    onStatus: (s) => ctx.note(s)}, async () => {
    const r = await getVelero(kc, op.namespace, plural, op.name)
    if (!r) throw failure('VELERO_GONE', `${op.of} ${op.namespace}/${op.name} disappeared`)
    const phase = String(r.status?.phase ?? 'New')
    const p = r.status?.progress as {totalItems?: number; itemsRestored?: number; itemsBackedUp?: number} | undefined
    const done = (op.of === 'Restore' ? p?.itemsRestored : p?.itemsBackedUp) ?? 0
    return FINAL.has(phase) ? {done: true, value: r} : {done: false, status: `${phase}: ${done}/${p?.totalItems ?? '?'} items`}
  })
  const st = item.status ?? {}
  const phase = String(st.phase)
  const p = st.progress as {totalItems?: number; itemsRestored?: number; itemsBackedUp?: number} | undefined
  // The per-namespace warnings and errors are in Velero's results file in its storage location.
  let results: ResultsFile = {}
  const counted = Number(st.warnings ?? 0) + Number(st.errors ?? 0)
  if (counted > 0 && phase !== 'FailedValidation') {
    results = await veleroDownload(kc, op.namespace, op.of === 'Restore' ? 'RestoreResults' : 'BackupResults', op.name).then((b) => gunzipJson<ResultsFile>(b)).catch((e: Error) => {
      ctx.note(`could not read ${op.of} ${op.name}'s results: ${e.message}`)
      return {}
    })
  }
  const out = {phase, seconds: (Date.now() - t0) / 1000, itemsDone: (op.of === 'Restore' ? p?.itemsRestored : p?.itemsBackedUp) ?? 0, itemsTotal: p?.totalItems ?? 0,
    warnings: results.warnings ? messages(results.warnings) : emptyMessages(), errors: results.errors ? messages(results.errors) : emptyMessages()}
  if (phase === 'Completed') return out
  const why = [
    ...((st.validationErrors as string[] | undefined) ?? []).map((x) => `validation: ${x}`),
    ...(st.failureReason ? [`reason: ${String(st.failureReason)}`] : []),
    ...formatMessages('errors', out.errors), ...formatMessages('warnings', out.warnings),
  ]
  throw failure(op.of === 'Restore' ? 'VELERO_RESTORE_FAILED' : 'VELERO_BACKUP_FAILED', `${op.of} ${op.name} ended ${phase} (${out.itemsDone}/${out.itemsTotal} items)${why.length ? `:\n${why.join('\n')}` : ''}`,
    [`Velero's own account: velero -n ${op.namespace} ${op.of.toLowerCase()} describe ${op.name} --details; logs: velero -n ${op.namespace} ${op.of.toLowerCase()} logs ${op.name}`], undefined, out)
}

async function awaitWorkloads(op: Op<'kube.await-workloads'>, ctx: OperationContext): Promise<KubeOperationResult['kube.await-workloads']> {
  const kc = await clusterConfig(op.cluster)
  const t0 = Date.now()
  const workloads = await waitUntil({what: `the workloads of ${op.namespaces.join(', ')} ready`, timeoutMs: op.timeoutMs, intervalMs: 250, maxIntervalMs: 2000, signal: ctx.signal, code: 'WORKLOADS_NOT_READY',
    suggestions: [`See what holds them: kubectl -n ${op.namespaces[0]} get pods; kubectl -n ${op.namespaces[0]} get events --sort-by=.lastTimestamp`],
    onStatus: (s) => ctx.note(s)}, async () => {
    const all = (await Promise.all(op.namespaces.map((n) => workloadReadiness(kc, n)))).flat()
    const waiting = all.filter((w) => w.ready < w.desired)
    return waiting.length === 0 ? {done: true, value: all} : {done: false, status: `${all.length - waiting.length}/${all.length} ready; waiting for ${waiting.slice(0, 3).map((w) => `${w.kind.toLowerCase()}/${w.name} ${w.ready}/${w.desired}`).join(', ')}`}
  })
  return {workloads, seconds: (Date.now() - t0) / 1000}
}

export async function runKubeOperation(op: KubeOperation, ctx: OperationContext): Promise<KubeOperationResult[KubeOperation['kind']]> {
  switch (op.kind) {
    case 'kube.apply-file':
      return applyFile(op, ctx)
    case 'velero.await-location': {
      const kc = await clusterConfig(op.cluster)
      return waitUntil({what: `storage location ${op.name} Available`, timeoutMs: op.timeoutMs, intervalMs: 500, maxIntervalMs: 2000, signal: ctx.signal, code: 'VELERO_LOCATION',
        suggestions: [`velero -n ${op.namespace} backup-location get; Velero's log says why it cannot reach the bucket`], onStatus: (s) => ctx.note(s)}, async () => {
        const r = await getVelero(kc, op.namespace, 'backupstoragelocations', op.name)
        const phase = String(r?.status?.phase ?? 'Unknown')
        return phase === 'Available' ? {done: true, value: {phase}} : {done: false, status: `phase ${phase}${r?.status?.message ? `: ${String(r.status.message)}` : ''}`}
      })
    }
    case 'velero.create': {
      const kc = await clusterConfig(op.cluster)
      const {item, created} = await createVelero(kc, op.object.kind === 'Restore' ? 'restores' : 'backups', op.object)
      if (!created && JSON.stringify(item.spec?.backupName ?? null) !== JSON.stringify(op.object.spec.backupName ?? null)) {
        throw refusal('VELERO_NAME_TAKEN', `a ${op.object.kind} named ${op.object.metadata.name} exists already, for something else`, ['Give another name: --name NAME.'])
      }
      return {name: op.object.metadata.name, created}
    }
    case 'velero.await':
      return awaitVelero(op, ctx)
    case 'kube.await-workloads':
      return awaitWorkloads(op, ctx)
    case 'kube.patroni':
      return patroniCall(op)
    case 'kube.patroni-await':
      return patroniAwait(op, ctx)
    case 'kube.scale':
      return scale(op, ctx)
    case 'kube.secret': {
      const kc = await clusterConfig(op.cluster)
      const values = {'s3.accessKeyId': ctx.secrets.s3?.accessKeyId, 's3.secretAccessKey': ctx.secrets.s3?.secretAccessKey}
      const secret: Record<string, string> = {...op.data}
      for (const [key, from] of Object.entries(op.fromSecrets)) if (values[from]) secret[key] = values[from]!
      await applyObjects(kc, [{apiVersion: 'v1', kind: 'Secret', metadata: {name: op.name, namespace: op.namespace, labels: op.labels}, type: 'Opaque', stringData: secret}])
      return {name: op.name, keys: Object.keys(secret).sort()}
    }
    case 'kube.annotate': {
      const kc = await clusterConfig(op.cluster)
      await annotate(kc, op.target, op.annotations)
      return {annotated: `${op.target.kind}/${op.target.name}`}
    }
    case 'kube.delete': {
      const kc = await clusterConfig(op.cluster)
      const deleted = await deleteObjects(kc, op.objects)
      if (op.unannotate) await annotate(kc, op.unannotate.target, {[op.unannotate.key]: null}).catch((e: {code?: number}) => { if (e.code !== 404) throw e })
      return {deleted}
    }
  }
}

async function patroniCall(op: Op<'kube.patroni'>): Promise<KubeOperationResult['kube.patroni']> {
  const kc = await clusterConfig(op.cluster)
  const r = await podProxy(kc, {namespace: op.namespace, pod: op.pod, port: op.port, method: op.method, path: op.path, ...(op.body ? {body: op.body} : {}), timeoutMs: 30_000}).catch((e: Error) => {
    throw failure('PATRONI_UNREACHABLE', `Patroni on ${op.pod} (port ${op.port}) did not answer through the API server's pod proxy: ${e.message}`)
  })
  // the API server's own answer (a Status object) when it could not reach the pod: not Patroni's
  const proxyError = /^\s*\{/.test(r.text) && (() => { try { return (JSON.parse(r.text) as {kind?: string; message?: string}) } catch { return undefined } })()
  if (proxyError && proxyError.kind === 'Status') throw failure('PATRONI_UNREACHABLE', `Patroni on ${op.pod} (port ${op.port}) did not answer through the API server's pod proxy: ${proxyError.message ?? `HTTP ${r.status}`}`)
  if (!op.expect.includes(r.status)) throw failure('PATRONI_REFUSED', `Patroni on ${op.pod} (port ${op.port}, through the API server's pod proxy) answered ${op.method} ${op.path} with ${r.status}: ${r.text.trim().slice(0, 300)}`)
  return r
}

async function patroniAwait(op: Op<'kube.patroni-await'>, ctx: OperationContext): Promise<KubeOperationResult['kube.patroni-await']> {
  const kc = await clusterConfig(op.cluster)
  const t0 = Date.now()
  return waitUntil({what: `${op.pod} leading on a timeline after ${op.leaderAfterTimeline}`, timeoutMs: op.timeoutMs, intervalMs: 500, maxIntervalMs: 2000, signal: ctx.signal, code: 'PITR_UNVERIFIED',
    suggestions: [`kubectl -n ${op.namespace} exec ${op.pod} -c ${op.container} -- patronictl list; kubectl -n ${op.namespace} logs ${op.pod} -c ${op.container}`], onStatus: (s) => ctx.note(s)}, async () => {
    const r = await podProxy(kc, {namespace: op.namespace, pod: op.pod, port: op.port, method: 'GET', path: '/patroni', timeoutMs: 5000})
    const j = JSON.parse(r.text) as {role?: string; state?: string; timeline?: number}
    const leads = (j.role === 'master' || j.role === 'primary') && j.state === 'running' && (j.timeline ?? 0) > op.leaderAfterTimeline
    return leads ? {done: true, value: {role: j.role!, timeline: j.timeline!, seconds: (Date.now() - t0) / 1000}} : {done: false, status: `${j.role} ${j.state} on timeline ${j.timeline}`}
  })
}

async function scale(op: Op<'kube.scale'>, ctx: OperationContext): Promise<KubeOperationResult['kube.scale']> {
  const kc = await clusterConfig(op.cluster)
  const t0 = Date.now()
  const before = await statefulSetState(kc, op.namespace, op.name)
  if (!before) throw failure('NO_STATEFULSET', `StatefulSet ${op.namespace}/${op.name} is gone`)
  await scaleStatefulSet(kc, op.namespace, op.name, op.replicas)
  await waitUntil({what: op.wait === 'gone' ? `the pods of ${op.name} from ${op.replicas} up gone` : `${op.replicas} ready pod(s) of ${op.name}`, timeoutMs: op.timeoutMs, intervalMs: 250, maxIntervalMs: 2000,
    signal: ctx.signal, code: 'SCALE_TIMEOUT', suggestions: [`kubectl -n ${op.namespace} get pods; kubectl -n ${op.namespace} describe statefulset ${op.name}`], onStatus: (s) => ctx.note(s)}, async () => {
    const s = (await statefulSetState(kc, op.namespace, op.name))!
    if (op.wait === 'gone') {
      const left = s.pods.filter((p) => p.ordinal >= op.replicas)
      return left.length === 0 ? {done: true, value: true} : {done: false, status: `waiting for ${left.map((p) => p.name).join(', ')} to go`}
    }
    const ready = s.pods.filter((p) => p.ordinal < op.replicas && p.ready).length
    return ready === op.replicas ? {done: true, value: true} : {done: false, status: `${ready}/${op.replicas} ready`}
  })
  return {from: before.replicas, to: op.replicas, seconds: (Date.now() - t0) / 1000}
}
