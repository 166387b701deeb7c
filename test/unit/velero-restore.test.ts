// Velero restore planning (pure): which backup, Velero's restore rules on a tarball's files, the
// object as Velero would create it, the plan and the velero CLI spelling of each step.
import {describe, expect, it} from 'vitest'
import {manual} from '../../src/lib/plan/operations.js'
import {asRestored, backupItems, chooseBackup, parsePairs, planVeleroRestore, selectItems, summariseBackup, type BackupSummary} from '../../src/lib/velero/restore.js'

const now = new Date('2026-11-27T12:00:00Z')
const b = (name: string, over: Partial<BackupSummary> = {}): BackupSummary => ({name, phase: 'Completed', includedNamespaces: [], excludedNamespaces: ['kube-system'], completedAt: '2026-11-26T01:05:00Z',
  expiresAt: '2026-12-26T01:00:00Z', errors: 0, warnings: 0, ...over})

describe('choosing the backup', () => {
  const backups = [
    b('daily-20261125-0100', {completedAt: '2026-11-25T01:04:00Z'}),
    b('daily-20261126-0100'),
    b('daily-20261127-0100', {phase: 'PartiallyFailed', completedAt: '2026-11-27T01:06:00Z'}),
    b('daily-20261020-0100', {completedAt: '2026-10-20T01:00:00Z', expiresAt: '2026-11-19T01:00:00Z'}),
    b('prod-only', {includedNamespaces: ['llm-vault-prod'], excludedNamespaces: [], completedAt: '2026-11-26T09:00:00Z'}),
  ]
  it('--latest: the newest Completed, unexpired backup that holds every namespace asked for', () => {
    expect(chooseBackup(backups, {latest: true, namespaces: []}, now).name).toBe('prod-only')
    expect(chooseBackup(backups, {latest: true, namespaces: ['llm-vault-data']}, now).name).toBe('daily-20261126-0100')
    expect(() => chooseBackup(backups, {latest: true, namespaces: ['kube-system']}, now)).toThrow(/no Completed, unexpired Velero backup covers kube-system/)
  })
  it('refuses (exit 3) a backup that is not Completed, has expired, or lacks a namespace, listing the usable ones', () => {
    const refused = (name: string, namespaces: string[] = []) => {
      try {
        chooseBackup(backups, {name, latest: false, namespaces}, now)
      } catch (error) {
        return error as {exit: number; message: string; suggestions: string[]}
      }
      throw new Error('not refused')
    }
    expect(refused('daily-20261127-0100')).toMatchObject({exit: 3, message: 'backup daily-20261127-0100 cannot be restored from: it is PartiallyFailed, not Completed'})
    expect(refused('daily-20261020-0100').message).toContain('it expired at 2026-11-19T01:00:00Z')
    expect(refused('prod-only', ['llm-vault-data']).message).toBe('backup prod-only does not hold namespace llm-vault-data')
    expect(refused('nope').suggestions[0]).toBe('Usable backups, newest first: prod-only (completed 2026-11-26T09:00:00Z, expires 2026-12-26T01:00:00Z); daily-20261126-0100 (completed 2026-11-26T01:05:00Z, expires 2026-12-26T01:00:00Z); daily-20261125-0100 (completed 2026-11-25T01:04:00Z, expires 2026-12-26T01:00:00Z)')
    expect(chooseBackup(backups, {name: 'daily-20261125-0100', latest: false, namespaces: ['llm-vault-prod']}, now).name).toBe('daily-20261125-0100')
  })
  it('summarises a Backup object as the API returns it', () => {
    expect(summariseBackup({metadata: {name: 'x', labels: {'velero.io/schedule-name': 'daily'}}, spec: {includedNamespaces: ['a'], storageLocation: 'default'},
      status: {phase: 'Completed', completionTimestamp: '2026-11-27T01:00:00Z', expiration: '2026-12-27T01:00:00Z', progress: {totalItems: 7, itemsBackedUp: 7}, warnings: 2}}))
      .toEqual({name: 'x', phase: 'Completed', includedNamespaces: ['a'], excludedNamespaces: [], completedAt: '2026-11-27T01:00:00Z', expiresAt: '2026-12-27T01:00:00Z', items: 7, errors: 0, warnings: 2, schedule: 'daily', storageLocation: 'default'})
  })
})

describe('the backup\'s contents and Velero\'s rules', () => {
  const obj = (kind: string, name: string, ns?: string, extra: Record<string, unknown> = {}) => ({apiVersion: 'v1', kind, metadata: {name, ...(ns ? {namespace: ns} : {}), uid: 'u', resourceVersion: '9', labels: {app: 'api'}}, ...extra})
  const files = [
    {path: 'resources/configmaps/namespaces/prod/cfg.json', json: obj('ConfigMap', 'cfg', 'prod')},
    {path: 'resources/configmaps/v1-preferredversion/namespaces/prod/cfg.json', json: obj('ConfigMap', 'cfg', 'prod', {data: {preferred: 'yes'}})},
    {path: 'resources/deployments.apps/v1beta1/namespaces/prod/api.json', json: obj('Deployment', 'api-old', 'prod')},
    {path: 'resources/deployments.apps/v1-preferredversion/namespaces/prod/api.json', json: obj('Deployment', 'api', 'prod')},
    {path: 'resources/events/namespaces/prod/e1.json', json: obj('Event', 'e1', 'prod')},
    {path: 'resources/pods/namespaces/prod/done.json', json: obj('Pod', 'done', 'prod', {status: {phase: 'Succeeded'}})},
    {path: 'resources/pods/namespaces/prod/run.json', json: obj('Pod', 'run', 'prod', {spec: {nodeName: 'n1'}, status: {phase: 'Running'}})},
    {path: 'resources/jobs.batch/namespaces/prod/m.json', json: obj('Job', 'm', 'prod', {status: {completionTime: '2026-11-27T00:00:00Z'}})},
    {path: 'resources/services/namespaces/prod/api.json', json: obj('Service', 'api', 'prod', {spec: {clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9'], ports: [{port: 80, nodePort: 30080}]}})},
    {path: 'resources/services/namespaces/prod/headless.json', json: obj('Service', 'headless', 'prod', {spec: {clusterIP: 'None'}})},
    {path: 'resources/configmaps/namespaces/data/other.json', json: {...obj('ConfigMap', 'other', 'data'), metadata: {name: 'other', namespace: 'data', labels: {app: 'db'}}}},
    {path: 'resources/namespaces/cluster/prod.json', json: obj('Namespace', 'prod')},
    {path: 'resources/clusterroles.rbac.authorization.k8s.io/cluster/viewer.json', json: obj('ClusterRole', 'viewer')},
    {path: 'metadata/version', json: '1.1.0'},
  ]
  it('reads each object once, in its preferred API version', () => {
    const items = backupItems(files)
    expect(items.filter((i) => i.resource === 'configmaps' && i.namespace === 'prod').map((i) => (i.object as {data?: unknown}).data)).toEqual([{preferred: 'yes'}])
    expect(items.filter((i) => i.resource === 'deployments.apps').map((i) => (i.object.metadata as {name: string}).name)).toEqual(['api'])
    expect(items.find((i) => i.resource === 'clusterroles.rbac.authorization.k8s.io')).toMatchObject({name: 'viewer'})
    expect('namespace' in items.find((i) => i.name === 'viewer')!).toBe(false)
  })
  it('leaves out what Velero leaves out, and says why', () => {
    const sel = selectItems(backupItems(files), {includeNamespaces: ['prod'], includeResources: [], namespaceMappings: {prod: 'dr'}})
    const why = Object.fromEntries(sel.map((s) => [`${s.item.resource}/${s.item.name}`, s.excluded ?? `-> ${s.targetNamespace ?? '(cluster)'}`]))
    expect(why).toEqual({
      'configmaps/cfg': '-> dr', 'deployments.apps/api': '-> dr', 'events/e1': 'Velero never restores this resource', 'pods/done': 'a completed pod (Succeeded) is not restored', 'pods/run': '-> dr',
      'jobs.batch/m': 'a completed Job is not restored', 'services/api': '-> dr', 'services/headless': '-> dr', 'configmaps/other': 'namespace not in --include-namespaces',
      'namespaces/prod': '-> (cluster)', 'clusterroles.rbac.authorization.k8s.io/viewer': 'cluster-scoped, and only some namespaces are restored',
    })
    const all = selectItems(backupItems(files), {includeNamespaces: [], includeResources: ['configmaps', 'clusterroles'], namespaceMappings: {}, selector: {app: 'api'}})
    expect(all.filter((s) => !s.excluded).map((s) => `${s.item.resource}/${s.item.name}`).sort()).toEqual(['clusterroles.rbac.authorization.k8s.io/viewer', 'configmaps/cfg'])
    expect(all.find((s) => s.item.name === 'other')?.excluded).toBe('labels do not match --selector')
  })
  it('creates each object as Velero would: metadata reset, status dropped, cluster IPs and node ports freed, namespace mapped, labelled with backup and restore', () => {
    const items = backupItems(files)
    const labels = {'velero.io/backup-name': 'b', 'velero.io/restore-name': 'r'}
    const svc = asRestored(items.find((i) => i.resource === 'services' && i.name === 'api')!, 'dr', labels)
    expect(svc).toEqual({apiVersion: 'v1', kind: 'Service', metadata: {name: 'api', namespace: 'dr', labels: {app: 'api', ...labels}}, spec: {ports: [{port: 80}]}})
    expect((asRestored(items.find((i) => i.name === 'headless')!, 'dr', labels).spec as {clusterIP: string}).clusterIP).toBe('None')
    expect(asRestored(items.find((i) => i.resource === 'pods' && i.name === 'run')!, 'dr', labels)).toMatchObject({spec: {}, metadata: {namespace: 'dr'}})
    expect((asRestored(items.find((i) => i.name === 'run')!, 'dr', labels).spec as {nodeName?: string}).nodeName).toBeUndefined()
  })
  it('parses A:B and k=v lists, refusing malformed pairs', () => {
    expect(parsePairs(['a:b,c:d', 'e:f'], ':', '--namespace-mappings')).toEqual({a: 'b', c: 'd', e: 'f'})
    expect(() => parsePairs(['a'], ':', '--namespace-mappings')).toThrow('--namespace-mappings "a": expected A:B')
    expect(() => parsePairs(['=v'], '=', '--selector')).toThrow('expected A=B')
  })
})

describe('the restore plan', () => {
  const cluster = {kubeconfig: '/k/admin.kubeconfig', context: 'prod'}
  const o = {backup: 'daily-1', includeNamespaces: ['llm-vault-prod'], includeResources: [], namespaceMappings: {'llm-vault-prod': 'llm-vault-dr'}, veleroNamespace: 'velero', name: 'daily-1-r',
    intoExisting: false, timeoutMs: 3_600_000, workloadTimeoutMs: 600_000, waitWorkloads: true}
  it('creates the Restore, waits for it, then for the workloads; each step printed as the velero or kubectl command', () => {
    const p = planVeleroRestore({name: 'prod', protected: true}, cluster, o, {backup: b('daily-1'), targets: {'llm-vault-dr': undefined}})
    expect(p.steps.map((s) => [s.id, s.risk])).toEqual([['create-restore', 'write'], ['await-restore', 'read'], ['await-workloads', 'read']])
    expect(p.confirmOnProtected).toBe(true)
    expect(p.steps.map((s) => manual(s.op!))).toEqual([
      'velero --kubeconfig /k/admin.kubeconfig --kubecontext prod -n velero restore create daily-1-r --from-backup daily-1 --include-namespaces llm-vault-prod --namespace-mappings llm-vault-prod:llm-vault-dr --labels app.kubernetes.io/managed-by=vaultctl',
      'velero --kubeconfig /k/admin.kubeconfig --kubecontext prod -n velero restore describe daily-1-r --details   # until Phase is final; only Completed is success',
      'kubectl --kubeconfig /k/admin.kubeconfig --context prod -n llm-vault-dr wait --for=condition=Available deployment --all --timeout=600s; kubectl --kubeconfig /k/admin.kubeconfig --context prod -n llm-vault-dr get statefulset,daemonset   # until READY = desired',
    ])
  })
  it('refuses a target namespace that holds objects unless --into-existing (then the create is destructive); a Restore of ours still running is waited for, not started again', () => {
    const occupied = {backup: b('daily-1'), targets: {'llm-vault-dr': ['deployment/api', 'service/api']}}
    expect(() => planVeleroRestore({name: 'prod', protected: true}, cluster, o, occupied)).toThrow('target namespace llm-vault-dr (2 objects: deployment/api, service/api) is not empty')
    expect(planVeleroRestore({name: 'prod', protected: true}, cluster, {...o, intoExisting: true}, occupied).steps[0]).toMatchObject({id: 'create-restore', risk: 'destructive'})
    const resumed = planVeleroRestore({name: 'prod', protected: true}, cluster, o, {...occupied, resume: 'daily-1-earlier'})
    expect(resumed.steps.map((s) => s.id)).toEqual(['await-restore', 'await-workloads'])
    expect(resumed.steps[0]!.op).toMatchObject({kind: 'velero.await', name: 'daily-1-earlier'})
  })
})
