// `lab up --with kubernetes`: the real API server, controller-manager and scheduler on etcd 3.6,
// kwok's nodes and pods. Checked through the Kubernetes API itself (@kubernetes/client-node).
import {AppsV1Api, CoreV1Api, KubeConfig, VersionApi} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import type {LabStatusResult} from '../../src/commands/lab/status.js'
import type {LabUpCommandResult} from '../../src/commands/lab/up.js'
import type {StatusCommandResult} from '../../src/commands/status.js'
import type {RestoreS3JobResult} from '../../src/commands/restore/s3.js'
import {BatchV1Api} from '@kubernetes/client-node'
import {PatchStrategy, PolicyV1Api, setHeaderOptions} from '@kubernetes/client-node'
import {eventually, labCli} from '../helpers/lab.js'

describe('the lab\'s Kubernetes', () => {
  const dir = inject('kubeLabDir')
  const kc = new KubeConfig()
  let core: CoreV1Api
  let apps: AppsV1Api
  const ns = `lab-${Date.now().toString(36)}`

  beforeAll(async () => {
    kc.loadFromFile(`${dir}/kubernetes/admin.kubeconfig`)
    core = kc.makeApiClient(CoreV1Api)
    apps = kc.makeApiClient(AppsV1Api)
    await core.createNamespace({body: {metadata: {name: ns}}})
  })
  afterAll(async () => {
    await core?.deleteNamespace({name: ns}).catch(() => undefined)
  })

  it('runs the v1.34.2 control plane; lab status shows every service ready; the lab environment points at it', async () => {
    const st = await labCli(['lab', 'status', '--json'], dir)
    expect(st.code, st.stderr).toBe(0)
    const services = st.json<LabStatusResult>().services.filter((s) => s.service.startsWith('kube-') || s.service === 'kwok' || s.service === 'velero')
    expect(services.map((s) => [s.service, s.ready])).toEqual([['kube-etcd', true], ['kube-apiserver', true], ['kube-controller-manager', true], ['kube-scheduler', true], ['kwok', true], ['velero', true]])
    expect((await kc.makeApiClient(VersionApi).getCode()).gitVersion).toBe('v1.34.2')
    const cfg = await labCli(['config', 'show', '--json'], dir)
    expect(cfg.stdout).toContain(`${dir}/kubernetes/admin.kubeconfig`)
  })

  it('has the architecture\'s node pools in three zones, Ready, with their labels and taints', async () => {
    const nodes = (await core.listNode()).items
    const byPool = new Map<string, string[]>()
    for (const n of nodes) {
      expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, n.metadata?.name).toBe('True')
      const pool = n.metadata!.labels!['vaultctl.io/pool']!
      byPool.set(pool, [...(byPool.get(pool) ?? []), n.metadata!.labels!['topology.kubernetes.io/zone']!].sort())
    }
    expect(Object.fromEntries(byPool)).toEqual({system: ['us-east-1a', 'us-east-1b', 'us-east-1c'], api: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      worker: ['us-east-1a', 'us-east-1b', 'us-east-1c'], data: ['us-east-1a', 'us-east-1b', 'us-east-1c']})
    // (and, for its first seconds, node.kubernetes.io/not-ready until the node lifecycle controller sees it Ready)
    expect(nodes.find((n) => n.metadata?.name === 'lab-api-a')?.spec?.taints?.filter((t) => t.key === 'workload')).toEqual([{key: 'workload', value: 'api', effect: 'NoSchedule'}])
  })

  it('schedules and runs a Deployment on the pool it selects; a server-side dry-run creates nothing', async () => {
    const deployment = {metadata: {name: 'web', namespace: ns}, spec: {replicas: 3, selector: {matchLabels: {app: 'web'}},
      template: {metadata: {labels: {app: 'web'}}, spec: {nodeSelector: {workload: 'worker'}, containers: [{name: 'web', image: 'nginx:1.27'}]}}}}
    await apps.createNamespacedDeployment({namespace: ns, body: {...deployment, metadata: {...deployment.metadata, name: 'dry'}}, dryRun: 'All'})
    await apps.createNamespacedDeployment({namespace: ns, body: deployment})
    await eventually('3 available replicas', 30_000, async () => (await apps.readNamespacedDeployment({name: 'web', namespace: ns})).status?.availableReplicas === 3)
    const pods = (await core.listNamespacedPod({namespace: ns})).items
    expect(pods.map((p) => p.spec?.nodeName?.replace(/-[abc]$/, ''))).toEqual(['lab-worker', 'lab-worker', 'lab-worker'])
    expect(pods.every((p) => p.status?.phase === 'Running')).toBe(true)
    expect((await apps.listNamespacedDeployment({namespace: ns})).items.map((d) => d.metadata?.name)).toEqual(['web'])
  })

  it('a second lab up changes nothing; after lab down and up the objects are still there and the nodes Ready again', async () => {
    const again = await labCli(['lab', 'up', '--dry-run', '--json'], dir)
    expect(again.code, again.stderr).toBe(0)
    const plan = again.json<LabUpCommandResult>() as Extract<LabUpCommandResult, {dryRun: true}>
    expect(plan.plan.steps.filter((s) => s.id.startsWith('start-') || s.id.startsWith('kube-pki'))).toEqual([])
    const down = await labCli(['lab', 'down', '--yes'], dir)
    expect(down.code, down.stderr).toBe(0)
    const up = await labCli(['lab', 'up'], dir)
    expect(up.code, up.stderr).toBe(0)
    expect((await apps.readNamespacedDeployment({name: 'web', namespace: ns})).spec?.replicas).toBe(3)
    await eventually('nodes Ready again', 60_000, async () => (await core.listNode()).items.every((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'))
    // and kwok manages them again at once: new pods run
    await apps.patchNamespacedDeploymentScale({name: 'web', namespace: ns, body: {spec: {replicas: 4}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    await eventually('4 available replicas after the restart', 20_000, async () => (await apps.readNamespacedDeployment({name: 'web', namespace: ns})).status?.availableReplicas === 4)
  })

  it('vaultctl status: node pools by zone, the vault namespaces\' workloads and PDB headroom, Velero\'s last backup', async () => {
    const vns = 'llm-vault-prod'
    const api = `api-${ns}`
    await core.createNamespace({body: {metadata: {name: vns}}}).catch(() => undefined)
    await apps.createNamespacedDeployment({namespace: vns, body: {metadata: {name: api}, spec: {replicas: 2, selector: {matchLabels: {app: api}},
      template: {metadata: {labels: {app: api}}, spec: {nodeSelector: {workload: 'api'}, tolerations: [{key: 'workload', operator: 'Equal', value: 'api', effect: 'NoSchedule'}],
        containers: [{name: 'api', image: 'api:1'}]}}}}})
    await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({namespace: vns, body: {metadata: {name: api}, spec: {minAvailable: 2, selector: {matchLabels: {app: api}}}}})
    await eventually('api 2/2 ready', 30_000, async () => (await apps.readNamespacedDeployment({name: api, namespace: vns})).status?.readyReplicas === 2)
    const r = await labCli(['status', '--component', 'kubernetes', '--json'], dir)
    const rows = r.json<StatusCommandResult>().components[0]!.rows
    expect(r.code).toBe(rows.every((x) => x.rating === 'ok') ? 0 : 1)
    expect(rows.filter((x) => x.role === 'node pool').map((x) => [x.name, x.state, x.rating])).toEqual([['api', '3/3 Ready', 'ok'], ['data', '3/3 Ready', 'ok'], ['system', '3/3 Ready', 'ok'], ['worker', '3/3 Ready', 'ok']])
    expect(rows.find((x) => x.name === `${vns}/${api}` && x.role === 'Deployment')).toMatchObject({state: '2/2 ready', rating: 'ok'})
    await eventually('the PDB observed', 30_000, async () => ((await kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({name: api, namespace: vns})).status?.currentHealthy ?? 0) === 2)
    const again = (await labCli(['status', '--component', 'kubernetes', '--json'], dir)).json<StatusCommandResult>().components[0]!.rows
    expect(again.find((x) => x.role === 'PodDisruptionBudget' && x.name === `${vns}/${api}`)).toMatchObject({ state: '0 disruption(s) allowed', rating: 'warn'})
    // Velero runs in the lab: critical only until a backup completed (velero.test.ts makes some)
    const velero = again.find((x) => x.name === 'velero')!
    expect(velero.rating).toBe(velero.state === 'no completed backup' ? 'crit' : 'ok')
  })

  it('restore s3 --engine k8s-job --submit: the dry-run creates nothing; then the Indexed Job is applied and awaited (kwok completes its pods: no data moves here)', async () => {
    const jobs = 'llm-vault-jobs'
    await core.createNamespace({body: {metadata: {name: jobs}}}).catch(() => undefined)
    const sa = `vaultctl-${ns}`
    const args = ['restore', 's3', '--prefix', `${ns}/`, '--to', new Date().toISOString(), '--engine', 'k8s-job', '--shards', '3', '--submit', '--service-account', sa]
    const dry = await labCli([...args, '--dry-run', '--json'], dir)
    expect(dry.code, dry.stderr).toBe(0)
    const planned = dry.json<RestoreS3JobResult>()
    expect(planned.submitted?.plan.steps.map((x) => x.op?.kind)).toEqual(['kube.apply', 'kube.await-job'])
    expect(planned.submitted?.plan.steps[0]!.manual).toMatch(/kubectl --kubeconfig .* apply --server-side --field-manager vaultctl -f - <<'EOF'\n.*kind: ConfigMap.*kind: Job/s)
    const batch = kc.makeApiClient(BatchV1Api)
    await expect(batch.readNamespacedJob({name: planned.name, namespace: jobs})).rejects.toMatchObject({code: 404})
    const noSa = await labCli([...args, '--yes', '--json'], dir)
    expect(noSa.code).toBe(3) // its service account is missing: no pod could start
    expect(noSa.stdout).toContain(`no service account ${sa} in namespace llm-vault-jobs`)
    await core.createNamespacedServiceAccount({namespace: jobs, body: {metadata: {name: sa}}})
    const r = await labCli([...args, '--yes', '--json'], dir)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.json<RestoreS3JobResult>().submitted?.outcome).toMatchObject({succeeded: 3, completions: 3})
    const job = await batch.readNamespacedJob({name: planned.name, namespace: jobs})
    expect([job.spec?.completionMode, job.status?.succeeded, job.spec?.template.spec?.containers[0]?.args?.at(-3)]).toEqual(['Indexed', 3, '$(JOB_COMPLETION_INDEX)/3'])
  })
})
