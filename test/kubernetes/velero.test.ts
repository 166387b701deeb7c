// Velero in the lab (its server as a local process, the AWS plugin, backups in the lab's MinIO),
// driven by vaultctl through the Kubernetes API: backups, the real dry-run (the backup's tarball
// against the live cluster, then the API server's server-side dry-run), restores with an honest
// exit code, the refusals, and the restored workloads waited for.
import {AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import type {BackupVeleroCreateResult} from '../../src/commands/backup/velero/create.js'
import type {BackupVeleroDescribeResult} from '../../src/commands/backup/velero/describe.js'
import type {BackupVeleroListResult} from '../../src/commands/backup/velero/list.js'
import type {LabStatusResult} from '../../src/commands/lab/status.js'
import type {RestoreVeleroResult} from '../../src/commands/restore/velero.js'
import type {StatusCommandResult} from '../../src/commands/status.js'
import {eventually, labCli} from '../helpers/lab.js'

describe('Velero through vaultctl, on the lab\'s Kubernetes', () => {
  const dir = inject('kubeLabDir')
  const kc = new KubeConfig()
  let core: CoreV1Api
  let apps: AppsV1Api
  const id = Date.now().toString(36)
  const src = `vault-src-${id}`
  const backup = `b-${id}`
  const created: string[] = [src]

  const seed = async (ns: string) => {
    const api = KubernetesObjectApi.makeApiClient(kc)
    const objects = [
      {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}},
      {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'api-config', namespace: ns, labels: {app: 'api'}}, data: {LOG_LEVEL: 'info'}},
      {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'api-secret', namespace: ns, labels: {app: 'api'}}, stringData: {token: 'not-a-real-token'}},
      {apiVersion: 'v1', kind: 'Service', metadata: {name: 'api', namespace: ns, labels: {app: 'api'}}, spec: {selector: {app: 'api'}, ports: [{port: 80, targetPort: 8080}]}},
      {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'api', namespace: ns, labels: {app: 'api'}}, spec: {replicas: 2, selector: {matchLabels: {app: 'api'}},
        template: {metadata: {labels: {app: 'api'}}, spec: {nodeSelector: {workload: 'api'}, tolerations: [{key: 'workload', value: 'api', effect: 'NoSchedule'}], containers: [{name: 'api', image: 'llm-vault/api:1'}]}}}},
      {apiVersion: 'batch/v1', kind: 'Job', metadata: {name: 'migrate', namespace: ns}, spec: {template: {spec: {restartPolicy: 'Never', containers: [{name: 'm', image: 'llm-vault/migrate:1'}]}}}},
    ]
    for (const o of objects) await api.patch(o as never, undefined, undefined, 'test', true, PatchStrategy.ServerSideApply)
    await eventually('api 2/2 ready and the Job complete', 30_000, async () => (await apps.readNamespacedDeployment({name: 'api', namespace: ns})).status?.readyReplicas === 2
      && !!(await kc.makeApiClient((await import('@kubernetes/client-node')).BatchV1Api).readNamespacedJob({name: 'migrate', namespace: ns})).status?.completionTime)
  }
  const names = async (ns: string) => ({
    configmaps: (await core.listNamespacedConfigMap({namespace: ns})).items.map((x) => x.metadata!.name!).sort(),
    secrets: (await core.listNamespacedSecret({namespace: ns})).items.map((x) => x.metadata!.name!).sort(),
    services: (await core.listNamespacedService({namespace: ns})).items.map((x) => x.metadata!.name!).sort(),
    deployments: (await apps.listNamespacedDeployment({namespace: ns})).items.map((x) => x.metadata!.name!).sort(),
    jobs: (await kc.makeApiClient((await import('@kubernetes/client-node')).BatchV1Api).listNamespacedJob({namespace: ns})).items.map((x) => x.metadata!.name!).sort(),
  })

  beforeAll(async () => {
    kc.loadFromFile(`${dir}/kubernetes/admin.kubeconfig`)
    core = kc.makeApiClient(CoreV1Api)
    apps = kc.makeApiClient(AppsV1Api)
    await seed(src)
  })
  afterAll(async () => {
    for (const ns of created) await core?.deleteNamespace({name: ns}).catch(() => undefined)
  })

  it('runs Velero\'s server with its storage location Available in the lab\'s MinIO', async () => {
    const st = (await labCli(['lab', 'status', '--json'], dir)).json<LabStatusResult>()
    expect(st.services.find((s) => s.service === 'velero')).toMatchObject({ready: true})
    const bsl = await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({group: 'velero.io', version: 'v1', namespace: 'velero', plural: 'backupstoragelocations', name: 'default'}) as {status?: {phase?: string}; spec?: {objectStorage?: {bucket?: string}}}
    expect([bsl.status?.phase, bsl.spec?.objectStorage?.bucket]).toEqual(['Available', 'vault-backups'])
  })

  it('backup velero create waits for Completed; list and describe show it and what it holds; status counts it against the RPO', async () => {
    const dry = await labCli(['backup', 'velero', 'create', '--name', backup, '--include-namespaces', src, '--dry-run', '--json'], dir)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json<BackupVeleroCreateResult>().plan.steps.map((s) => s.manual)[0]).toMatch(new RegExp(`velero --kubeconfig \\S+ --kubecontext vaultctl-lab -n velero backup create ${backup} --include-namespaces ${src} --ttl 720h0m0s --labels app.kubernetes.io/managed-by=vaultctl`))
    const r = await labCli(['backup', 'velero', 'create', '--name', backup, '--include-namespaces', src, '--yes', '--json'], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.json<BackupVeleroCreateResult>().outcome).toMatchObject({phase: 'Completed'})
    const listed = (await labCli(['backup', 'velero', 'list', '--json'], dir)).json<BackupVeleroListResult>().backups.find((b) => b.name === backup)
    expect(listed).toMatchObject({phase: 'Completed', usable: true, includedNamespaces: [src], errors: 0})
    const d = await labCli(['backup', 'velero', 'describe', backup, '--json'], dir)
    expect(d.code, d.stderr).toBe(0)
    const res = d.json<BackupVeleroDescribeResult>().resources
    expect(res['apps/v1/Deployment']).toEqual([`${src}/api`])
    expect(res['v1/ConfigMap']).toContain(`${src}/api-config`)
    const rows = (await labCli(['status', '--component', 'kubernetes', '--json'], dir)).json<StatusCommandResult>().components[0]!.rows
    expect(rows.find((x) => x.name === 'velero')).toMatchObject({rating: 'ok'})
    expect(rows.find((x) => x.name === 'velero')?.state).toMatch(/^last completed [\d.]+s ago$/)
  })

  it('a real dry-run: the backup\'s own objects against the live cluster, then the API server\'s dry-run; nothing created; the restore then creates exactly that', async () => {
    const dst = `vault-dr-${id}`
    created.push(dst)
    const args = ['restore', 'velero', '--from-backup', backup, '--include-namespaces', src, '--namespace-mappings', `${src}:${dst}`]
    const dry = await labCli([...args, '--dry-run', '--json'], dir)
    expect(dry.code, dry.stderr).toBe(0)
    const p = dry.json<RestoreVeleroResult>()
    expect(p.plan.steps.map((s) => s.op?.kind)).toEqual(['velero.create', 'velero.await', 'kube.await-workloads'])
    expect(p.plan.steps[0]!.manual).toContain(`restore create ${p.restore} --from-backup ${backup} --include-namespaces ${src} --namespace-mappings ${src}:${dst}`)
    const items = p.preview!.items
    const act = (resource: string, name: string) => items.find((x) => x.resource === resource && x.name === name)
    expect(act('namespaces', dst)).toMatchObject({action: 'create', dryRun: {ok: true}})
    for (const [resource, name] of [['configmaps', 'api-config'], ['secrets', 'api-secret'], ['services', 'api'], ['deployments.apps', 'api']] as const) {
      expect(act(resource, name), `${resource}/${name}`).toMatchObject({action: 'create', targetNamespace: dst, dryRun: {ok: true}})
    }
    // Velero's own rules: events never, a completed Job not; what Kubernetes puts in every new namespace is found there
    expect(act('jobs.batch', 'migrate')).toMatchObject({action: 'excluded', reason: 'a completed Job is not restored'})
    expect(items.filter((x) => x.resource === 'events').every((x) => x.action === 'excluded')).toBe(true)
    expect(act('configmaps', 'kube-root-ca.crt')).toMatchObject({action: 'exists'})
    expect(p.preview!.counts.dryRunFailed).toBe(0)
    await expect(core.readNamespace({name: dst})).rejects.toMatchObject({code: 404}) // the dry-run created nothing
    const restores = async () => ((await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({group: 'velero.io', version: 'v1', namespace: 'velero', plural: 'restores'})) as {items: unknown[]}).items.length
    const before = await restores()

    const r = await labCli([...args, '--yes', '--json'], dir)
    expect(r.code, r.stderr).toBe(0)
    const out = r.json<RestoreVeleroResult>()
    expect(out.outcome).toMatchObject({phase: 'Completed'})
    expect(out.outcome!.itemsTotal).toBe(p.preview!.counts.create + p.preview!.counts.exists)
    expect(out.workloads?.workloads).toEqual([{kind: 'Deployment', namespace: dst, name: 'api', desired: 2, ready: 2}])
    expect(await restores()).toBe(before + 1)
    // exactly what the dry-run said: its creates and its already-there, nothing else, of each kind it listed
    const predicted = (resource: string) => items.filter((x) => x.resource === resource && (x.action === 'create' || x.action === 'exists')).map((x) => x.name).sort()
    expect(await names(dst)).toEqual({configmaps: predicted('configmaps'), secrets: predicted('secrets'), services: predicted('services'), deployments: predicted('deployments.apps'), jobs: []})
    const svc = await core.readNamespacedService({name: 'api', namespace: dst})
    expect(svc.spec?.clusterIP).not.toBe((await core.readNamespacedService({name: 'api', namespace: src})).spec?.clusterIP) // a new cluster IP, as Velero does
  })

  it('refuses (exit 3) a target namespace that is not empty unless --into-existing, a backup that does not exist, is not Completed or does not hold the namespace; --latest picks the newest usable one', async () => {
    const into = await labCli(['restore', 'velero', '--from-backup', backup, '--include-namespaces', src, '--dry-run', '--json'], dir)
    expect(into.code).toBe(3)
    expect(into.json<{error: {code: string; message: string; suggestions: string[]}}>().error).toMatchObject({code: 'NAMESPACE_NOT_EMPTY'})
    expect(into.stdout).toContain('deployment/api')
    expect(into.stdout).toContain('--into-existing')
    // with --into-existing the dry-run says what would be skipped, or updated
    const skip = (await labCli(['restore', 'velero', '--from-backup', backup, '--include-namespaces', src, '--into-existing', '--dry-run', '--json'], dir)).json<RestoreVeleroResult>()
    expect(skip.preview!.items.find((x) => x.resource === 'deployments.apps')).toMatchObject({action: 'exists'})
    expect(skip.preview!.counts.create).toBe(0)
    const upd = (await labCli(['restore', 'velero', '--from-backup', backup, '--include-namespaces', src, '--into-existing', '--existing-resource-policy', 'update', '--dry-run', '--json'], dir)).json<RestoreVeleroResult>()
    expect(upd.preview!.items.find((x) => x.resource === 'configmaps' && x.name === 'api-config')).toMatchObject({action: 'update', dryRun: {ok: true}})

    const none = await labCli(['restore', 'velero', '--from-backup', 'no-such-backup', '--dry-run', '--json'], dir)
    expect(none.code).toBe(3)
    expect(none.stdout).toContain(backup) // the usable ones are listed
    const other = await labCli(['restore', 'velero', '--from-backup', backup, '--include-namespaces', 'kube-public', '--dry-run', '--json'], dir)
    expect(other.code).toBe(3)
    expect(other.stdout).toContain('does not hold namespace kube-public')

    // a backup into a storage location that does not exist fails validation: vaultctl exits 1 (velero --wait would say 0)
    const bad = `bad-${id}`
    const failed = await labCli(['backup', 'velero', 'create', '--name', bad, '--include-namespaces', src, '--storage-location', 'nowhere', '--yes', '--json'], dir)
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/ended FailedValidation/)
    const refused = await labCli(['restore', 'velero', '--from-backup', bad, '--dry-run', '--json'], dir)
    expect(refused.code).toBe(3)
    expect(refused.json<{error: {code: string; message: string; suggestions: string[]}}>().error).toMatchObject({code: 'VELERO_BACKUP_UNUSABLE', message: `backup ${bad} cannot be restored from: it is FailedValidation, not Completed`})
    expect(refused.json<{error: {suggestions: string[]}}>().error.suggestions.join(' ')).toContain(backup)

    const latest = `latest-${id}`
    expect((await labCli(['backup', 'velero', 'create', '--name', latest, '--include-namespaces', src, '--yes', '--json'], dir)).code).toBe(0)
    const l = await labCli(['restore', 'velero', '--latest', '--include-namespaces', src, '--namespace-mappings', `${src}:x-${id}`, '--dry-run', '--json'], dir)
    expect(l.code, l.stderr).toBe(0)
    expect(l.json<RestoreVeleroResult>().backup.name).toBe(latest)
  })

  it('exits 1 on PartiallyFailed, with Velero\'s errors per namespace (the dry-run saw them coming)', async () => {
    const q = `vault-quota-${id}`
    created.push(q)
    await core.createNamespace({body: {metadata: {name: q}}})
    await core.createNamespacedResourceQuota({namespace: q, body: {metadata: {name: 'no-pods'}, spec: {hard: {pods: '0'}}}})
    await eventually('the quota observed', 10_000, async () => (await core.readNamespacedResourceQuota({name: 'no-pods', namespace: q})).status?.hard?.pods === '0')
    const args = ['restore', 'velero', '--from-backup', backup, '--namespace-mappings', `${src}:${q}`, '--into-existing', '--workload-timeout', '5s']
    const dry = (await labCli([...args, '--dry-run', '--json'], dir)).json<RestoreVeleroResult>()
    const pods = dry.preview!.items.filter((x) => x.resource === 'pods' && x.action === 'create')
    expect(pods.length).toBe(2)
    for (const p of pods) expect(p.dryRun?.message).toContain('exceeded quota: no-pods')
    expect(dry.preview!.counts.dryRunFailed).toBe(2)
    const r = await labCli([...args, '--yes', '--json'], dir)
    expect(r.code).toBe(1)
    const err = r.json<{error: {code: string; message: string}}>().error
    expect(err.code).toBe('STEP_FAILED')
    expect(err.message).toMatch(/ended PartiallyFailed/)
    expect(err.message).toMatch(new RegExp(`namespace ${q}: error restoring pods/${q}/api-`))
  })
})
