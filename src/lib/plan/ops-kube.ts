// Operations on a Kubernetes cluster and on Velero through its API (custom objects), and the
// command an operator would type for each (kubectl, or the velero CLI for Velero's objects).
// Pure data: the executor is src/lib/clients/kube-ops.ts.
import type {KubeWhere} from './ops-lab.js'
import {shellLine, shellQuote} from './operations.js'

/** Server-side apply of every object in a YAML file; CustomResourceDefinitions among them waited for until Established. */
export type KubeApplyFile = {kind: 'kube.apply-file'; cluster: KubeWhere; file: string; timeoutMs: number}

/** Wait until a BackupStorageLocation is Available (Velero could reach its bucket). */
export type VeleroAwaitLocation = {kind: 'velero.await-location'; cluster: KubeWhere; namespace: string; name: string; timeoutMs: number}

/** A Velero Restore or Backup as the API takes it. */
export type VeleroObject = {apiVersion: 'velero.io/v1'; kind: 'Restore' | 'Backup'; metadata: {name: string; namespace: string; labels?: Record<string, string>}; spec: VeleroSpec}
export type VeleroSpec = {
  backupName?: string
  includedNamespaces?: string[]
  excludedNamespaces?: string[]
  includedResources?: string[]
  excludedResources?: string[]
  namespaceMapping?: Record<string, string>
  labelSelector?: {matchLabels: Record<string, string>}
  existingResourcePolicy?: 'none' | 'update'
  restorePVs?: boolean
  snapshotVolumes?: boolean
  ttl?: string
  storageLocation?: string
}

/** Create the object (a re-run finds it already there with the same spec and goes on). */
export type VeleroCreate = {kind: 'velero.create'; cluster: KubeWhere; object: VeleroObject}

/** Wait until a Restore or Backup reaches a final phase, with progress; anything but Completed fails, with Velero's warnings and errors per namespace. */
export type VeleroAwait = {kind: 'velero.await'; cluster: KubeWhere; namespace: string; of: 'Restore' | 'Backup'; name: string; timeoutMs: number}

/** Wait until the Deployments, StatefulSets and DaemonSets of these namespaces are ready, and report them. */
export type KubeAwaitWorkloads = {kind: 'kube.await-workloads'; cluster: KubeWhere; namespaces: string[]; timeoutMs: number}

export type KubeOperation = KubeApplyFile | VeleroAwaitLocation | VeleroCreate | VeleroAwait | KubeAwaitWorkloads

/** Velero's per-scope messages (its restore results file): velero, cluster, and per namespace. */
export type VeleroMessages = {velero: string[]; cluster: string[]; namespaces: Record<string, string[]>}

export type WorkloadReadiness = {kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; namespace: string; name: string; desired: number; ready: number}

export type KubeOperationResult = {
  'kube.apply-file': {applied: number; established: string[]}
  'velero.await-location': {phase: string}
  'velero.create': {name: string; created: boolean}
  'velero.await': {phase: string; seconds: number; itemsDone: number; itemsTotal: number; warnings: VeleroMessages; errors: VeleroMessages}
  'kube.await-workloads': {workloads: WorkloadReadiness[]; seconds: number}
}

export const KUBE_OPERATION_KINDS = ['kube.apply-file', 'velero.await-location', 'velero.create', 'velero.await', 'kube.await-workloads'] as const
export const isKubeOperation = (op: {kind: string}): op is KubeOperation => (KUBE_OPERATION_KINDS as readonly string[]).includes(op.kind)

export const kubectlPrefix = (c: KubeWhere) => `kubectl --kubeconfig ${shellQuote(c.kubeconfig)}${c.context ? ` --context ${shellQuote(c.context)}` : ''}`
const veleroPrefix = (c: KubeWhere, namespace: string) => `velero --kubeconfig ${shellQuote(c.kubeconfig)}${c.context ? ` --kubecontext ${shellQuote(c.context)}` : ''} -n ${shellQuote(namespace)}`

/** The velero CLI flags that make the same Restore or Backup. */
export function veleroCliFlags(o: VeleroObject): string[] {
  const s = o.spec
  const list = (flag: string, v?: string[]) => (v?.length ? [flag, v.join(',')] : [])
  return [
    ...(s.backupName ? ['--from-backup', s.backupName] : []),
    ...list('--include-namespaces', s.includedNamespaces), ...list('--exclude-namespaces', s.excludedNamespaces),
    ...list('--include-resources', s.includedResources), ...list('--exclude-resources', s.excludedResources),
    ...(s.namespaceMapping && Object.keys(s.namespaceMapping).length ? ['--namespace-mappings', Object.entries(s.namespaceMapping).map(([a, b]) => `${a}:${b}`).join(',')] : []),
    ...(s.labelSelector ? ['--selector', Object.entries(s.labelSelector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',')] : []),
    ...(s.existingResourcePolicy ? ['--existing-resource-policy', s.existingResourcePolicy] : []),
    ...(s.restorePVs === false ? ['--restore-volumes=false'] : []),
    ...(s.snapshotVolumes === false ? ['--snapshot-volumes=false'] : []),
    ...(s.ttl ? ['--ttl', s.ttl] : []),
    ...(s.storageLocation ? ['--storage-location', s.storageLocation] : []),
    ...Object.entries(o.metadata.labels ?? {}).flatMap(([k, v]) => ['--labels', `${k}=${v}`]),
  ]
}

export function manualKube(op: KubeOperation): string {
  switch (op.kind) {
    case 'kube.apply-file':
      return `${kubectlPrefix(op.cluster)} apply --server-side --field-manager vaultctl -f ${shellQuote(op.file)} && ${kubectlPrefix(op.cluster)} wait --for=condition=Established crd --all --timeout=${Math.round(op.timeoutMs / 1000)}s`
    case 'velero.await-location':
      return `${veleroPrefix(op.cluster, op.namespace)} backup-location get ${shellQuote(op.name)}   # until PHASE Available`
    case 'velero.create':
      return `${veleroPrefix(op.cluster, op.object.metadata.namespace)} ${op.object.kind.toLowerCase()} create ${shellLine([op.object.metadata.name, ...veleroCliFlags(op.object)])}`
    case 'velero.await':
      return `${veleroPrefix(op.cluster, op.namespace)} ${op.of.toLowerCase()} describe ${shellQuote(op.name)} --details   # until Phase is final; only Completed is success`
    case 'kube.await-workloads':
      return op.namespaces.map((n) => `${kubectlPrefix(op.cluster)} -n ${shellQuote(n)} wait --for=condition=Available deployment --all --timeout=${Math.round(op.timeoutMs / 1000)}s; ${kubectlPrefix(op.cluster)} -n ${shellQuote(n)} get statefulset,daemonset   # until READY = desired`).join('\n')
  }
}
