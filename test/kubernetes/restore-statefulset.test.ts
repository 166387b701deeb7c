// `restore pitr --into cluster` for Patroni in a StatefulSet, executed through the Kubernetes API
// on the lab's cluster, as far as kwok allows: kwok pods run no container, so Patroni in them never
// answers and no data is restored; the API objects, their order, the scaling, the restore Job and
// its Secret, the refusals, the clean-up and the continuation of a stopped run are all real.
// The backups and their window are real: the lab's Patroni cluster, backed up into the lab's S3.
import {readFileSync, writeFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions} from '@kubernetes/client-node'
import {parse, stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import type {RestorePitrResult} from '../../src/commands/restore/pitr.js'
import {vaultctl} from '../helpers/cli.js'
import {eventually, labCli} from '../helpers/lab.js'

describe('restore pitr --into cluster on a StatefulSet (the lab\'s Kubernetes)', () => {
  const dir = inject('kubeLabDir')
  const id = Date.now().toString(36).slice(-5)
  const ns = `pg-${id}`
  const kc = new KubeConfig()
  let core: CoreV1Api
  let apps: AppsV1Api
  let cfg = ''
  const cli = (args: string[]) => vaultctl([...args, '--config', cfg], {env: {VAULTCTL_AUDIT_FILE: inject('auditFile')}})
  const sts = () => apps.readNamespacedStatefulSet({name: 'pg', namespace: ns})

  beforeAll(async () => {
    kc.loadFromFile(`${dir}/kubernetes/admin.kubeconfig`)
    core = kc.makeApiClient(CoreV1Api)
    apps = kc.makeApiClient(AppsV1Api)
    // a real base backup of the lab's Patroni cluster: the restore's window is checked first
    const b = await labCli(['backup', 'create', '--yes', '--json'], dir)
    expect(b.code, b.stderr).toBe(0)
    await core.createNamespace({body: {metadata: {name: ns}}})
    for (const i of [0, 1, 2]) {
      await core.createPersistentVolume({body: {metadata: {name: `${ns}-data-${i}`}, spec: {capacity: {storage: '1Gi'}, accessModes: ['ReadWriteOnce'], storageClassName: '',
        hostPath: {path: `/tmp/${ns}-${i}`}, claimRef: {namespace: ns, name: `data-pg-${i}`}}}})
    }
    await apps.createNamespacedStatefulSet({namespace: ns, body: {metadata: {name: 'pg'}, spec: {replicas: 3, serviceName: 'pg', selector: {matchLabels: {app: 'pg'}},
      template: {metadata: {labels: {app: 'pg'}}, spec: {terminationGracePeriodSeconds: 1, containers: [{name: 'postgres', image: 'patroni:15', ports: [{containerPort: 8008}]}]}},
      volumeClaimTemplates: [{metadata: {name: 'data'}, spec: {accessModes: ['ReadWriteOnce'], storageClassName: '', resources: {requests: {storage: '1Gi'}}}}]}}})
    await eventually('3 pods ready on their bound claims', 60_000, async () => (await sts()).status?.readyReplicas === 3)
    const lab = parse(readFileSync(join(dir, 'vaultctl.yaml'), 'utf8')) as {environments: {lab: Record<string, Record<string, unknown>>}}
    const env = lab.environments.lab
    env.postgres = {...env.postgres, kubernetes: {statefulSet: 'pg', namespace: ns, replicas: 3, image: 'ghcr.io/llm-data-vault/vaultctl:test'}}
    cfg = join(mkdtempSync(join(tmpdir(), 'vaultctl-sts-')), 'vaultctl.yaml')
    writeFileSync(cfg, stringify({...lab, environments: {lab: env}}))
  })
  afterAll(async () => {
    await core?.deleteNamespace({name: ns}).catch(() => undefined)
    for (const i of [0, 1, 2]) await core?.deletePersistentVolume({name: `${ns}-data-${i}`}).catch(() => undefined)
  })

  it('plans every step through the API (dry-run touches nothing), and refuses to start when pod 0\'s Patroni does not answer', async () => {
    const dry = await cli(['restore', 'pitr', '--into', 'cluster', '--latest', '--dry-run', '--json'])
    expect(dry.code, dry.stdout + dry.stderr).toBe(0)
    const plan = dry.json<RestorePitrResult>().plan
    expect(plan.steps.map((s) => s.id)).toEqual(['record', 'pause', 'scale-down', 'restore-secret', 'restore-job', 'await-restore', 'scale-one', 'start-leader', 'verify', 'resume', 'scale-up',
      'reinit-pg-1', 'reinit-pg-2', 'finish', 'cleanup'])
    expect(plan.steps.find((s) => s.id === 'scale-down')!.manual).toContain(`-n ${ns} scale statefulset pg --replicas=0`)
    expect(JSON.stringify(plan)).not.toContain(readFileSync(join(dir, 'secrets', 's3-secret-key'), 'utf8').trim()) // the S3 key is not in the plan
    const r = await cli(['restore', 'pitr', '--into', 'cluster', '--latest', '--yes', '--json'])
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/Patroni on pg-0 did not answer/)
    const s = await sts()
    expect([s.spec?.replicas, s.metadata?.annotations?.['vaultctl.io/pitr']]).toEqual([3, undefined]) // nothing was done
  })

  it('continues a run stopped after the scale-down: Secret, restore Job on pod 0\'s claim, scale to 1; stops at Patroni (kwok runs nothing), deletes the credentials, keeps the record; a re-run starts after the Job', async () => {
    // what a run killed right after its scale-down leaves behind
    await apps.patchNamespacedStatefulSet({name: 'pg', namespace: ns, body: {metadata: {annotations: {'vaultctl.io/pitr': JSON.stringify({target: 'latest', timelineBefore: 1, startedAt: new Date().toISOString()})}}}},
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    await apps.patchNamespacedStatefulSetScale({name: 'pg', namespace: ns, body: {spec: {replicas: 0}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    const r = await cli(['restore', 'pitr', '--into', 'cluster', '--latest', '--yes', '--json'])
    expect(r.code).toBe(1)
    const err = r.json<{error: {code: string; message: string; suggestions: string[]}}>().error
    expect(err.message, err.message).toMatch(/step \d+\/\d+ "start PostgreSQL on pg-0 through Patroni.*" failed: Patroni on pg-0 \(port 8008(\) did not answer|, through the API server's pod proxy\) answered POST \/restart with \d+)/) // kwok's pod IPs lead nowhere (here, a network filter answers 403)
    expect(err.suggestions.join(' ')).toMatch(/Completed before it: scale-down, restore-secret, restore-job, await-restore, scale-one/)
    const job = await kc.makeApiClient(BatchV1Api).readNamespacedJob({name: 'pg-pitr-latest', namespace: ns})
    expect(job.status?.succeeded).toBe(1)
    const pod = job.spec!.template.spec!
    expect(pod.volumes?.find((v) => v.name === 'pgdata')?.persistentVolumeClaim?.claimName).toBe('data-pg-0')
    expect(pod.containers[0]!.command![2]).toMatch(/^if \[ -e \/var\/lib\/postgresql\/data\/pgdata\.pre-restore-latest \].*vaultctl restore pitr --into side --env lab --latest --data-dir \/var\/lib\/postgresql\/data\/pgdata\.restore-latest --yes/)
    expect(pod.containers[0]!.env?.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
    await expect(core.readNamespacedSecret({name: 'pg-pitr-latest', namespace: ns})).rejects.toMatchObject({code: 404}) // credentials cleaned up after the failure
    const s = await sts()
    expect(s.spec?.replicas).toBe(1)
    expect(s.metadata?.annotations?.['vaultctl.io/pitr']).toContain('"target":"latest"') // kept: a re-run continues
    const again = await cli(['restore', 'pitr', '--into', 'cluster', '--latest', '--dry-run', '--json'])
    expect(again.json<RestorePitrResult>().plan.steps.map((x) => x.id).slice(0, 2)).toEqual(['scale-one', 'start-leader'])
  })
})
