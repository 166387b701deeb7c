// Velero backups, planned: the architecture's scope (its 8.1: all namespaces except kube-system,
// 30 days) unless told otherwise, created through the API and waited for (only Completed is success).
import type {KubeWhere} from '../plan/ops-lab.js'
import type {VeleroObject} from '../plan/ops-kube.js'
import type {Plan} from '../plan/types.js'

export type VeleroBackupOptions = {name: string; veleroNamespace: string; includeNamespaces: string[]; excludeNamespaces: string[]; ttl: string; storageLocation?: string; selector?: Record<string, string>; timeoutMs: number; wait: boolean}

export function backupObject(o: VeleroBackupOptions): VeleroObject {
  return {apiVersion: 'velero.io/v1', kind: 'Backup', metadata: {name: o.name, namespace: o.veleroNamespace, labels: {'app.kubernetes.io/managed-by': 'vaultctl'}},
    spec: {...(o.includeNamespaces.length ? {includedNamespaces: o.includeNamespaces} : {}), ...(o.excludeNamespaces.length ? {excludedNamespaces: o.excludeNamespaces} : {}),
      ttl: o.ttl, ...(o.storageLocation ? {storageLocation: o.storageLocation} : {}), ...(o.selector ? {labelSelector: {matchLabels: o.selector}} : {})}}
}

export function planVeleroBackup(env: {name: string; protected: boolean}, cluster: KubeWhere, o: VeleroBackupOptions): Plan {
  const scope = o.includeNamespaces.length ? o.includeNamespaces.join(', ') : `all namespaces${o.excludeNamespaces.length ? ` except ${o.excludeNamespaces.join(', ')}` : ''}`
  return {
    command: 'backup velero create', env: env.name, protected: env.protected,
    summary: `Velero backup ${o.name} of ${scope}, kept ${o.ttl}`,
    observed: {cluster: cluster.kubeconfig, ...(cluster.context ? {context: cluster.context} : {})},
    preconditions: [],
    steps: [
      {id: 'create-backup', title: `create Backup ${o.name} (${scope})`, risk: 'write', op: {kind: 'velero.create', cluster, object: backupObject(o)}},
      ...(o.wait ? [{id: 'await-backup', title: `wait for Backup ${o.name} (only Completed is success)`, risk: 'read' as const, op: {kind: 'velero.await' as const, cluster, namespace: o.veleroNamespace, of: 'Backup' as const, name: o.name, timeoutMs: o.timeoutMs}}] : []),
    ],
    recovery: `The Backup goes on in the cluster: velero -n ${o.veleroNamespace} backup describe ${o.name}. Re-running with --name ${o.name} waits for it instead of starting another.`,
  }
}
