// Velero restores, planned: which backup (named, or the newest usable one that covers the
// namespaces), refusals (backup not Completed or expired; target namespaces not empty), the
// Restore object, and — for a real dry-run, which Velero itself has never had (its issue 448) —
// what the backup's tarball holds and what a restore would do with each object, by Velero's own
// rules (pkg/controller/restore_controller.go, pkg/restore/restore.go and its restore actions).
import {refusal} from '../errors.js'
import type {KubeWhere} from '../plan/ops-lab.js'
import type {VeleroObject, VeleroSpec} from '../plan/ops-kube.js'
import type {Plan, Step} from '../plan/types.js'

/** The namespace Velero runs in, for an environment (config velero.namespace; default velero). */
export const veleroNamespaceOf = (env: {velero?: {namespace: string}}) => env.velero?.namespace ?? 'velero'

/** A Backup or Restore name from a prefix and the UTC time: <prefix>-yyyymmdd-hhmmss (at most 63 characters). */
export const veleroName = (prefix: string, now = new Date()) => `${prefix}-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase()}`.slice(0, 63)

export type BackupSummary = {
  name: string
  phase: string
  includedNamespaces: string[]
  excludedNamespaces: string[]
  startedAt?: string
  completedAt?: string
  expiresAt?: string
  items?: number
  errors: number
  warnings: number
  schedule?: string
  storageLocation?: string
}

/** A Backup object as the API returns it, summarised. */
export function summariseBackup(b: {metadata?: {name?: string; labels?: Record<string, string>}; spec?: Record<string, unknown>; status?: Record<string, unknown>}): BackupSummary {
  const st = b.status ?? {}
  const spec = b.spec ?? {}
  const progress = st.progress as {totalItems?: number; itemsBackedUp?: number} | undefined
  return {
    name: b.metadata?.name ?? '', phase: String(st.phase ?? 'New'),
    includedNamespaces: (spec.includedNamespaces as string[] | undefined) ?? [], excludedNamespaces: (spec.excludedNamespaces as string[] | undefined) ?? [],
    ...(st.startTimestamp ? {startedAt: String(st.startTimestamp)} : {}), ...(st.completionTimestamp ? {completedAt: String(st.completionTimestamp)} : {}),
    ...(st.expiration ? {expiresAt: String(st.expiration)} : {}), ...(progress?.itemsBackedUp === undefined ? {} : {items: progress.itemsBackedUp}),
    errors: Number(st.errors ?? 0), warnings: Number(st.warnings ?? 0),
    ...(b.metadata?.labels?.['velero.io/schedule-name'] ? {schedule: b.metadata.labels['velero.io/schedule-name']} : {}),
    ...(spec.storageLocation ? {storageLocation: String(spec.storageLocation)} : {}),
  }
}

const all = (xs: string[]) => xs.length === 0 || xs.includes('*')

/** Does the backup hold this namespace (by its own include/exclude lists)? */
export const covers = (b: BackupSummary, ns: string) => (all(b.includedNamespaces) || b.includedNamespaces.includes(ns)) && !b.excludedNamespaces.includes(ns)

/** Why a backup cannot be restored from, or undefined when it can. */
export function unusable(b: BackupSummary, now: Date): string | undefined {
  if (b.phase !== 'Completed') return `it is ${b.phase}, not Completed`
  if (b.expiresAt && new Date(b.expiresAt).getTime() <= now.getTime()) return `it expired at ${b.expiresAt}`
  return undefined
}

/** Newest first. */
const newest = (a: BackupSummary, b: BackupSummary) => (b.completedAt ?? b.startedAt ?? '').localeCompare(a.completedAt ?? a.startedAt ?? '')

/** The backup to restore from: the one named (refused unless usable), or with `latest` the newest usable one that covers `namespaces`. */
export function chooseBackup(backups: BackupSummary[], o: {name?: string; latest: boolean; namespaces: string[]}, now: Date): BackupSummary {
  const usable = backups.filter((b) => !unusable(b, now) && o.namespaces.every((n) => covers(b, n))).sort(newest)
  const listed = usable.slice(0, 10).map((b) => `${b.name} (completed ${b.completedAt ?? '?'}${b.expiresAt ? `, expires ${b.expiresAt}` : ''})`)
  const choices = listed.length ? [`Usable backups${o.namespaces.length ? ` covering ${o.namespaces.join(', ')}` : ''}, newest first: ${listed.join('; ')}`] : ['There is no usable backup: create one with `vaultctl backup velero create`.']
  if (o.latest) {
    if (!usable[0]) throw refusal('VELERO_NO_BACKUP', `no Completed, unexpired Velero backup${o.namespaces.length ? ` covers ${o.namespaces.join(', ')}` : ''}`, choices)
    return usable[0]
  }
  const b = backups.find((x) => x.name === o.name)
  if (!b) throw refusal('VELERO_NO_BACKUP', `there is no Velero backup named ${o.name}`, choices)
  const why = unusable(b, now)
  if (why) throw refusal('VELERO_BACKUP_UNUSABLE', `backup ${b.name} cannot be restored from: ${why}`, choices)
  const missing = o.namespaces.filter((n) => !covers(b, n))
  if (missing.length) throw refusal('VELERO_BACKUP_UNUSABLE', `backup ${b.name} does not hold namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, choices)
  return b
}

export type VeleroRestoreOptions = {
  backup: string
  includeNamespaces: string[]
  includeResources: string[]
  namespaceMappings: Record<string, string>
  selector?: Record<string, string>
  existingResourcePolicy?: 'none' | 'update'
  name: string
  veleroNamespace: string
}

export function restoreObject(o: VeleroRestoreOptions): VeleroObject {
  const spec: VeleroSpec = {backupName: o.backup,
    ...(o.includeNamespaces.length ? {includedNamespaces: o.includeNamespaces} : {}),
    ...(o.includeResources.length ? {includedResources: o.includeResources} : {}),
    ...(Object.keys(o.namespaceMappings).length ? {namespaceMapping: o.namespaceMappings} : {}),
    ...(o.selector ? {labelSelector: {matchLabels: o.selector}} : {}),
    ...(o.existingResourcePolicy ? {existingResourcePolicy: o.existingResourcePolicy} : {})}
  return {apiVersion: 'velero.io/v1', kind: 'Restore', metadata: {name: o.name, namespace: o.veleroNamespace, labels: {'app.kubernetes.io/managed-by': 'vaultctl'}}, spec}
}

/** Parse "a:b,c:d" (repeatable) into a mapping; throws on a malformed pair. */
export function parsePairs(items: string[], sep: ':' | '=', what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of items.flatMap((x) => x.split(',')).filter(Boolean)) {
    const i = pair.indexOf(sep)
    if (i <= 0 || i === pair.length - 1) throw new Error(`${what} ${JSON.stringify(pair)}: expected A${sep}B`)
    out[pair.slice(0, i)] = pair.slice(i + 1)
  }
  return out
}

// ---- the backup's contents, and what a restore would do with each object ----

/** One object of a backup tarball (resources/<group-resource>[/<version>]/{namespaces/<ns>|cluster}/<name>.json). */
export type BackupItem = {resource: string; namespace?: string; name: string; object: Record<string, unknown>}

/** The resource objects of a backup tarball's files (the preferred API version only, when the backup holds several). */
export function backupItems(files: {path: string; json: unknown}[]): BackupItem[] {
  const out = new Map<string, BackupItem & {preferred: boolean}>()
  const add = (i: BackupItem, preferred: boolean) => {
    const key = `${i.resource}/${i.namespace ?? ''}/${i.name}`
    if (!out.has(key) || preferred) out.set(key, {...i, preferred})
  }
  for (const f of files) {
    const parts = f.path.replace(/^\.\//, '').split('/')
    if (parts[0] !== 'resources' || parts.length < 4) continue
    // Velero writes each object unversioned and under <version>-preferredversion (and other versions with EnableAPIGroupVersions)
    let rest = parts.slice(2)
    const preferred = rest[0]!.endsWith('-preferredversion')
    if (rest[0] !== 'namespaces' && rest[0] !== 'cluster') {
      if (!preferred) continue
      rest = rest.slice(1)
    }
    const name = rest.at(-1)!.replace(/\.json$/, '')
    if (rest[0] === 'namespaces' && rest.length === 3) add({resource: parts[1]!, namespace: rest[1]!, name, object: f.json as Record<string, unknown>}, preferred)
    else if (rest[0] === 'cluster' && rest.length === 2) add({resource: parts[1]!, name, object: f.json as Record<string, unknown>}, preferred)
  }
  return [...out.values()].map(({preferred: _p, ...i}) => i)
}

/** What Kubernetes itself creates in every new namespace (so a restore into a new namespace finds them there and skips them). */
export const NAMESPACE_DEFAULTS = ['serviceaccounts/default', 'configmaps/kube-root-ca.crt']

/** Velero never restores these (restore_controller.go nonRestorableResources). */
export const NON_RESTORABLE = ['nodes', 'events', 'events.events.k8s.io', 'backups.velero.io', 'restores.velero.io', 'resticrepositories.velero.io',
  'csinodes.storage.k8s.io', 'volumeattachments.storage.k8s.io', 'backuprepositories.velero.io']

/** Velero's default restore order: these first, then the rest alphabetically. */
export const HIGH_PRIORITIES = ['customresourcedefinitions', 'namespaces', 'storageclasses', 'volumesnapshotclass.snapshot.storage.k8s.io', 'volumesnapshotcontents.snapshot.storage.k8s.io',
  'volumesnapshots.snapshot.storage.k8s.io', 'datauploads.velero.io', 'persistentvolumes', 'persistentvolumeclaims', 'clusterroles', 'roles', 'serviceaccounts', 'clusterrolebindings',
  'rolebindings', 'secrets', 'configmaps', 'limitranges', 'priorityclasses', 'pods', 'replicasets.apps', 'clusterclasses.cluster.x-k8s.io', 'endpoints', 'services']

export type PreviewAction = 'create' | 'exists' | 'update' | 'excluded'
export type PreviewItem = {resource: string; kind: string; namespace?: string; targetNamespace?: string; name: string; action: PreviewAction; reason?: string
  /** the server-side dry-run's verdict (create or update only) */
  dryRun?: {ok: boolean; message?: string}}

const matchesResource = (resource: string, wanted: string[]) => wanted.length === 0 || wanted.includes('*') || wanted.some((w) => w === resource || resource.split('.')[0] === w)

/** Which items Velero would consider, and why each other one is left out. */
export function selectItems(items: BackupItem[], o: Pick<VeleroRestoreOptions, 'includeNamespaces' | 'includeResources' | 'selector' | 'namespaceMappings'>): {item: BackupItem; excluded?: string; targetNamespace?: string}[] {
  const allNs = o.includeNamespaces.length === 0 || o.includeNamespaces.includes('*')
  return items.map((item) => {
    const targetNamespace = item.namespace === undefined ? undefined : (o.namespaceMappings[item.namespace] ?? item.namespace)
    const why = excludedWhy(item, o, allNs)
    return {item, ...(why ? {excluded: why} : {}), ...(targetNamespace ? {targetNamespace} : {})}
  })
}

function excludedWhy(item: BackupItem, o: Pick<VeleroRestoreOptions, 'includeNamespaces' | 'includeResources' | 'selector'>, allNs: boolean): string | undefined {
  if (NON_RESTORABLE.includes(item.resource)) return 'Velero never restores this resource'
  if (!matchesResource(item.resource, o.includeResources)) return 'not in --include-resources'
  if (item.namespace !== undefined && !allNs && !o.includeNamespaces.includes(item.namespace)) return 'namespace not in --include-namespaces'
  if (item.namespace === undefined && item.resource !== 'namespaces' && !allNs) return 'cluster-scoped, and only some namespaces are restored'
  if (item.resource === 'namespaces' && !allNs && !o.includeNamespaces.includes(item.name)) return 'namespace not in --include-namespaces'
  const status = (item.object.status ?? {}) as {phase?: string; completionTime?: string}
  if (item.resource === 'pods' && (status.phase === 'Succeeded' || status.phase === 'Failed')) return `a completed pod (${status.phase}) is not restored`
  if (item.resource === 'jobs.batch' && status.completionTime) return 'a completed Job is not restored'
  const meta = (item.object.metadata ?? {}) as {labels?: Record<string, string>; annotations?: Record<string, string>}
  if (item.resource === 'pods' && meta.annotations?.['kubernetes.io/config.mirror']) return 'a mirror pod is not restored'
  if (o.selector && !Object.entries(o.selector).every(([k, v]) => meta.labels?.[k] === v)) return 'labels do not match --selector'
  return undefined
}

/** The object as Velero would create it: metadata reset (restore.go resetMetadata), status dropped, its restore actions applied (service, pod, job), namespace mapped. */
export function asRestored(item: BackupItem, targetNamespace: string | undefined, labels: Record<string, string>): Record<string, unknown> {
  const o = structuredClone(item.object) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const k of ['generateName', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences', 'managedFields']) delete o.metadata?.[k]
  delete o.status
  if (targetNamespace !== undefined) o.metadata.namespace = targetNamespace
  if (item.resource === 'namespaces' && targetNamespace === undefined) delete o.spec?.finalizers
  o.metadata.labels = {...(o.metadata.labels ?? {}), ...labels}
  if (item.resource === 'services' && o.spec) {
    if (o.spec.clusterIP !== 'None') { delete o.spec.clusterIP; delete o.spec.clusterIPs }
    for (const p of o.spec.ports ?? []) if (!o.metadata.annotations?.['last-applied-configuration']) delete p.nodePort
  }
  if (item.resource === 'pods' && o.spec) { delete o.spec.nodeName; delete o.spec.priority }
  if (item.resource === 'jobs.batch' && o.spec) {
    for (const k of ['controller-uid', 'batch.kubernetes.io/controller-uid']) { delete o.spec.selector?.matchLabels?.[k]; delete o.spec.template?.metadata?.labels?.[k] }
    if (o.spec.selector?.matchLabels && Object.keys(o.spec.selector.matchLabels).length === 0) delete o.spec.selector
  }
  return o
}

/** Velero's restore order for the preview. */
export function restoreOrder(a: {resource: string; namespace?: string; name: string}, b: {resource: string; namespace?: string; name: string}): number {
  const rank = (r: string) => { const i = HIGH_PRIORITIES.indexOf(r); return i === -1 ? HIGH_PRIORITIES.length : i }
  return rank(a.resource) - rank(b.resource) || a.resource.localeCompare(b.resource) || (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name)
}

// ---- the plan ----

export type VeleroRestoreObserved = {
  backup: BackupSummary
  /** the target namespaces and what each holds (undefined: it does not exist) */
  targets: Record<string, string[] | undefined>
  /** a Restore of this backup that vaultctl started and that has not finished: waited for instead of starting another */
  resume?: string
}

export function planVeleroRestore(env: {name: string; protected: boolean}, cluster: KubeWhere, o: VeleroRestoreOptions & {intoExisting: boolean; timeoutMs: number; workloadTimeoutMs: number; waitWorkloads: boolean}, seen: VeleroRestoreObserved): Plan {
  const occupied = Object.entries(seen.targets).filter(([, c]) => c !== undefined && c.length > 0)
  if (occupied.length && !o.intoExisting && !seen.resume) {
    throw refusal('NAMESPACE_NOT_EMPTY', `target namespace${occupied.length > 1 ? 's' : ''} ${occupied.map(([n, c]) => `${n} (${c!.length} object${c!.length > 1 ? 's' : ''}: ${c!.slice(0, 4).join(', ')}${c!.length > 4 ? ', ...' : ''})`).join('; ')} ${occupied.length > 1 ? 'are' : 'is'} not empty`,
      ['Restore beside it instead: --namespace-mappings SRC:NEW-NAMESPACE', `or restore into it anyway (objects that exist are skipped${o.existingResourcePolicy === 'update' ? '' : ', or updated with --existing-resource-policy update'}): --into-existing`])
  }
  const name = seen.resume ?? o.name
  const object = restoreObject({...o, name})
  const targets = Object.keys(seen.targets)
  const steps: Step[] = [
    ...(seen.resume ? [] : [{id: 'create-restore', title: `create Restore ${name} from backup ${seen.backup.name}`, risk: (occupied.length ? 'destructive' : 'write') as 'write' | 'destructive', op: {kind: 'velero.create' as const, cluster, object}}]),
    {id: 'await-restore', title: `wait for Restore ${name} (only Completed is success)`, risk: 'read', op: {kind: 'velero.await', cluster, namespace: o.veleroNamespace, of: 'Restore', name, timeoutMs: o.timeoutMs}},
    ...(o.waitWorkloads && targets.length ? [{id: 'await-workloads', title: `wait for the restored workloads of ${targets.join(', ')} to be ready`, risk: 'read' as const,
      op: {kind: 'kube.await-workloads' as const, cluster, namespaces: targets, timeoutMs: o.workloadTimeoutMs}}] : []),
  ]
  return {
    command: 'restore velero', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: seen.resume ? `wait for Restore ${name} (already started) from backup ${seen.backup.name}` : `restore Velero backup ${seen.backup.name}${targets.length ? ` into ${targets.join(', ')}` : ''}`,
    observed: {backup: seen.backup, targets: Object.fromEntries(Object.entries(seen.targets).map(([n, c]) => [n, c === undefined ? 'absent' : c.length === 0 ? 'empty' : `${c.length} objects`])), ...(seen.resume ? {resume: seen.resume} : {})},
    fingerprint: {backup: seen.backup.name, phase: seen.backup.phase},
    preconditions: [],
    steps,
    recovery: `The Restore goes on in the cluster: velero -n ${o.veleroNamespace} restore describe ${name} --details. Re-running the same command waits for it instead of starting another.`,
  }
}
