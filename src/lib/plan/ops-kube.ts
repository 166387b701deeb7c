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

/** An object named by its API version, kind, namespace and name. */
export type KubeRef = {apiVersion: string; kind: string; namespace?: string; name: string}

/** A call to Patroni's REST API in a pod, through the API server's pod proxy (pods/proxy), as patronictl in that pod would make it. */
export type KubePatroni = {kind: 'kube.patroni'; cluster: KubeWhere; namespace: string; pod: string; container: string; port: number; method: 'GET' | 'PATCH' | 'POST'; path: string
  body?: Record<string, unknown>; expect: number[]; patronictl: string[]}

/** Wait until the pod's Patroni leads, running, on a timeline after `leaderAfterTimeline`. */
export type KubePatroniAwait = {kind: 'kube.patroni-await'; cluster: KubeWhere; namespace: string; pod: string; container: string; port: number; leaderAfterTimeline: number; timeoutMs: number}

/** Scale a StatefulSet and wait: `gone` until no pod at or above the new count is left; `running` until that many are ready. */
export type KubeScale = {kind: 'kube.scale'; cluster: KubeWhere; namespace: string; name: string; replicas: number; wait: 'gone' | 'running'; timeoutMs: number}

/** A Secret (server-side apply) from plain data and secrets vaultctl resolved itself (never in the plan). */
export type KubeSecret = {kind: 'kube.secret'; cluster: KubeWhere; namespace: string; name: string; labels: Record<string, string>; data: Record<string, string>
  fromSecrets: Record<string, 's3.accessKeyId' | 's3.secretAccessKey'>}

/** Set annotations on an object (merge patch). */
export type KubeAnnotate = {kind: 'kube.annotate'; cluster: KubeWhere; target: KubeRef; annotations: Record<string, string>}

/** Delete objects (absent ones are fine) and, optionally, remove an annotation from another. */
export type KubeDelete = {kind: 'kube.delete'; cluster: KubeWhere; objects: KubeRef[]; unannotate?: {target: KubeRef; key: string}}

export type KubeOperation = KubeApplyFile | VeleroAwaitLocation | VeleroCreate | VeleroAwait | KubeAwaitWorkloads | KubePatroni | KubePatroniAwait | KubeScale | KubeSecret | KubeAnnotate | KubeDelete

/** Velero's per-scope messages (its restore results file): velero, cluster, and per namespace. */
export type VeleroMessages = {velero: string[]; cluster: string[]; namespaces: Record<string, string[]>}

export type WorkloadReadiness = {kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; namespace: string; name: string; desired: number; ready: number}

export type KubeOperationResult = {
  'kube.apply-file': {applied: number; established: string[]}
  'velero.await-location': {phase: string}
  'velero.create': {name: string; created: boolean}
  'velero.await': {phase: string; seconds: number; itemsDone: number; itemsTotal: number; warnings: VeleroMessages; errors: VeleroMessages}
  'kube.await-workloads': {workloads: WorkloadReadiness[]; seconds: number}
  'kube.patroni': {status: number; text: string}
  'kube.patroni-await': {role: string; timeline: number; seconds: number}
  'kube.scale': {from: number; to: number; seconds: number}
  'kube.secret': {name: string; keys: string[]}
  'kube.annotate': {annotated: string}
  'kube.delete': {deleted: string[]}
}

export const KUBE_OPERATION_KINDS = ['kube.apply-file', 'velero.await-location', 'velero.create', 'velero.await', 'kube.await-workloads', 'kube.patroni', 'kube.patroni-await',
  'kube.scale', 'kube.secret', 'kube.annotate', 'kube.delete'] as const
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

const ref = (r: KubeRef) => `${r.namespace ? `-n ${shellQuote(r.namespace)} ` : ''}${r.kind.toLowerCase()}/${r.name}`

export function manualKube(op: KubeOperation): string {
  switch (op.kind) {
    case 'kube.patroni':
      return `${kubectlPrefix(op.cluster)} -n ${shellQuote(op.namespace)} exec ${shellQuote(op.pod)} -c ${shellQuote(op.container)} -- ${shellLine(['patronictl', ...op.patronictl])}   # = ${op.method} :${op.port}${op.path}${op.body ? ` ${JSON.stringify(op.body)}` : ''}`
    case 'kube.patroni-await':
      return `${kubectlPrefix(op.cluster)} -n ${shellQuote(op.namespace)} exec ${op.pod} -c ${shellQuote(op.container)} -- patronictl list   # until ${op.pod} is Leader, running, on a timeline after ${op.leaderAfterTimeline}`
    case 'kube.scale':
      return `${kubectlPrefix(op.cluster)} -n ${shellQuote(op.namespace)} scale statefulset ${op.name} --replicas=${op.replicas} && ${op.wait === 'gone'
        ? `${kubectlPrefix(op.cluster)} -n ${shellQuote(op.namespace)} wait --for=delete pod -l statefulset.kubernetes.io/pod-name --timeout=${Math.round(op.timeoutMs / 1000)}s   # the StatefulSet's pods`
        : `${kubectlPrefix(op.cluster)} -n ${shellQuote(op.namespace)} rollout status statefulset ${op.name} --timeout=${Math.round(op.timeoutMs / 1000)}s`}`
    case 'kube.secret':
      return `${kubectlPrefix(op.cluster)} -n ${shellQuote(op.namespace)} create secret generic ${op.name} ${Object.keys(op.data).map((k) => `--from-file=${k}=./${k}`).join(' ')} ${Object.keys(op.fromSecrets).map((k) => `--from-literal=${k}="$${k}"`).join(' ')} --dry-run=client -o yaml | ${kubectlPrefix(op.cluster)} apply --server-side -f -`
    case 'kube.annotate':
      return `${kubectlPrefix(op.cluster)} annotate --overwrite ${ref(op.target)} ${Object.entries(op.annotations).map(([k, v]) => shellQuote(`${k}=${v}`)).join(' ')}`
    case 'kube.delete':
      return [...op.objects.map((o) => `${kubectlPrefix(op.cluster)} delete --ignore-not-found ${ref(o)}`), ...(op.unannotate ? [`${kubectlPrefix(op.cluster)} annotate ${ref(op.unannotate.target)} ${op.unannotate.key}-`] : [])].join(' && ')
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
