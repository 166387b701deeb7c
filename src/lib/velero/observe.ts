// What a Velero restore plan is built from, read through the clients: the backups, the target
// namespaces, a restore of ours still running; and for a dry-run, the backup's own contents (its
// tarball, through a DownloadRequest) compared object by object with the live cluster, then a
// server-side dry-run of what would be created or updated.
import type {KubeConfig} from '../clients/kube.js'
import type {KubeWhere} from '../plan/ops-lab.js'
import {NAMESPACE_DEFAULTS, asRestored, backupItems, chooseBackup, restoreOrder, selectItems, summariseBackup, type BackupSummary, type PreviewItem, type VeleroRestoreObserved, type VeleroRestoreOptions} from './restore.js'

export async function veleroKube(cluster: KubeWhere): Promise<KubeConfig> {
  const {kubeConfig} = await import('../clients/kube.js')
  return kubeConfig(cluster.kubeconfig, cluster.context)
}

export async function listBackups(kc: KubeConfig, veleroNamespace: string): Promise<BackupSummary[]> {
  const {listVelero} = await import('../clients/velero.js')
  return (await listVelero(kc, veleroNamespace, 'backups')).map(summariseBackup)
}

/** The namespaces a restore writes into: the ones named (mapped), else the backup's, else those its resource list holds. */
async function targetNamespaces(kc: KubeConfig, o: VeleroRestoreOptions, backup: BackupSummary): Promise<string[]> {
  const named = o.includeNamespaces.filter((n) => n !== '*')
  let source = named.length ? named : backup.includedNamespaces.filter((n) => n !== '*')
  if (!source.length) {
    const {gunzipJson, veleroDownload} = await import('../clients/velero.js')
    const list = gunzipJson<Record<string, string[]>>(await veleroDownload(kc, o.veleroNamespace, 'BackupResourceList', backup.name))
    source = [...new Set(Object.values(list).flat().filter((x) => x.includes('/')).map((x) => x.split('/')[0]!))].filter((n) => !backup.excludedNamespaces.includes(n))
  }
  return [...new Set(source.map((n) => o.namespaceMappings[n] ?? n))].sort()
}

export async function observeVeleroRestore(kc: KubeConfig, o: Omit<VeleroRestoreOptions, 'backup' | 'name'> & {backup?: string; latest: boolean}, now = new Date()): Promise<VeleroRestoreObserved> {
  const {namespaceContents} = await import('../clients/kube.js')
  const {listVelero} = await import('../clients/velero.js')
  const backups = await listBackups(kc, o.veleroNamespace)
  const named = o.includeNamespaces.filter((n) => n !== '*')
  const backup = chooseBackup(backups, {...(o.backup ? {name: o.backup} : {}), latest: o.latest, namespaces: named}, now)
  const targets = await targetNamespaces(kc, {...o, backup: backup.name, name: ''}, backup)
  const contents = Object.fromEntries(await Promise.all(targets.map(async (n) => [n, await namespaceContents(kc, n)] as const)))
  const running = (await listVelero(kc, o.veleroNamespace, 'restores')).filter((r) => r.spec?.backupName === backup.name && r.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'vaultctl'
    && !['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'].includes(String(r.status?.phase ?? 'New')))
  return {backup, targets: contents, ...(running[0]?.metadata?.name ? {resume: running[0].metadata.name} : {})}
}

export type RestorePreview = {items: PreviewItem[]; counts: Record<'create' | 'exists' | 'update' | 'excluded' | 'dryRunFailed', number>}

/** The dry-run's account: each object of the backup, what the restore would do with it, and what the API server says to it. */
/** The object as it can be dry-run before its namespace exists: in namespace default, under a generated name. */
function standIn(o: Record<string, unknown>): Record<string, unknown> {
  const {name, ...meta} = o.metadata as {name: string; namespace?: string}
  return {...o, metadata: {...meta, namespace: 'default', generateName: `${name.slice(0, 40)}-vaultctl-dry-run-`}}
}

export async function previewVeleroRestore(kc: KubeConfig, o: VeleroRestoreOptions, targets: Record<string, string[] | undefined>): Promise<RestorePreview> {
  const {readBackupTarball, veleroDownload} = await import('../clients/velero.js')
  const {dryRunObjects, objectsExist} = await import('../clients/kube.js')
  const items = backupItems(await readBackupTarball(await veleroDownload(kc, o.veleroNamespace, 'BackupContents', o.backup, 120_000)))
  const selected = selectItems(items, o)
  const labels = {'velero.io/backup-name': o.backup, 'velero.io/restore-name': o.name}
  const considered = selected.filter((s) => !s.excluded).map((s) => ({...s, restored: asRestored(s.item, s.targetNamespace, labels)}))
  // a mapped Namespace object is created under its new name
  for (const c of considered) if (c.item.resource === 'namespaces') (c.restored.metadata as {name: string}).name = o.namespaceMappings[c.item.name] ?? c.item.name
  const targetAbsent = new Set(Object.entries(targets).filter(([, c]) => c === undefined).map(([n]) => n))
  // In a namespace the restore creates, Kubernetes itself puts the default ServiceAccount and kube-root-ca.crt: Velero then finds them there.
  const exists = (await objectsExist(kc, considered.map((c) => c.restored as never))).map((e, i) => e || (targetAbsent.has(considered[i]!.targetNamespace ?? '') && NAMESPACE_DEFAULTS.includes(`${considered[i]!.item.resource}/${considered[i]!.item.name}`)))
  const update = o.existingResourcePolicy === 'update'
  const toDryRun = considered.map((c, i) => ({c, exists: exists[i]!})).filter((x) => !x.exists || update)
  // The API server can only dry-run into a namespace that exists: objects bound for one the restore creates are validated
  // in namespace default under a generated name (schema, defaults and admission; not name collisions, which cannot happen in a new namespace).
  const verdicts = await dryRunObjects(kc, toDryRun.map((x) => ({update: x.exists, object: x.c.targetNamespace && targetAbsent.has(x.c.targetNamespace) ? standIn(x.c.restored) : x.c.restored})))
  const verdict = new Map(toDryRun.map((x, i) => [x.c, x.c.targetNamespace && targetAbsent.has(x.c.targetNamespace) ? {...verdicts[i]!, message: verdicts[i]!.message ?? `validated in namespace default: ${x.c.targetNamespace} does not exist yet`} : verdicts[i]!]))
  const kindOf = (s: {item: {object: Record<string, unknown>}}) => String(s.item.object.kind ?? '')
  const out: PreviewItem[] = [
    ...considered.map((c, i) => {
      const action = exists[i] ? (update ? 'update' : 'exists') : 'create'
      const v = verdict.get(c)
      const name = (c.restored.metadata as {name: string}).name
      return {resource: c.item.resource, kind: kindOf(c), ...(c.item.namespace ? {namespace: c.item.namespace} : {}), ...(c.targetNamespace ? {targetNamespace: c.targetNamespace} : {}), name, action,
        ...(action === 'exists' ? {reason: c.targetNamespace && targetAbsent.has(c.targetNamespace) ? 'Kubernetes creates it in every new namespace: skipped' : 'exists in the cluster: skipped (with a warning), unless --existing-resource-policy update'} : {}), ...(v ? {dryRun: v} : {})} as PreviewItem
    }),
    ...selected.filter((s) => s.excluded).map((s) => ({resource: s.item.resource, kind: kindOf(s), ...(s.item.namespace ? {namespace: s.item.namespace} : {}), name: s.item.name, action: 'excluded' as const, reason: s.excluded!})),
  ].sort(restoreOrder)
  const n = (a: string) => out.filter((x) => x.action === a).length
  return {items: out, counts: {create: n('create'), exists: n('exists'), update: n('update'), excluded: n('excluded'), dryRunFailed: out.filter((x) => x.dryRun && !x.dryRun.ok).length}}
}
