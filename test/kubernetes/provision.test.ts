// `vaultctl provision` against the lab's real API server: validate's server-side dry-run, apply with
// helm upgrade --install --atomic --wait, plan against the live release, a failed upgrade rolled
// back, and a release left in pending-upgrade (helm killed mid-upgrade) recovered.
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {AppsV1Api, CoreV1Api, KubeConfig} from '@kubernetes/client-node'
import {stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import type {ProvisionApplyResult} from '../../src/commands/provision/apply.js'
import type {ProvisionPlanResult} from '../../src/commands/provision/plan.js'
import type {ProvisionValidateResult} from '../../src/commands/provision/validate.js'
import {helmBinary} from '../../src/lib/clients/helm.js'
import {toolsCacheDir} from '../../src/lib/paths.js'
import {vaultctl} from '../helpers/cli.js'
import {eventually} from '../helpers/lab.js'

describe('provision on the lab\'s Kubernetes (helm against the real API server)', () => {
  const dir = inject('kubeLabDir')
  const kubeconfig = `${dir}/kubernetes/admin.kubeconfig`
  const id = Date.now().toString(36).slice(-5)
  const release = `pv-${id}`
  const ns = {app: `pv-${id}-app`, data: `pv-${id}-data`, jobs: `pv-${id}-jobs`}
  const work = mkdtempSync(join(tmpdir(), 'vaultctl-kprov-'))
  const kc = new KubeConfig()
  let apps: AppsV1Api
  let core: CoreV1Api

  /** The lab environment on the lab's cluster, the chart in its own namespaces; `values` over the lab profile's. */
  const config = (values: Record<string, unknown> = {}, timeout = '60s') => {
    const file = join(mkdtempSync(join(work, 'cfg-')), 'vaultctl.yaml')
    writeFileSync(file, stringify({apiVersion: 'vaultctl/v1', environments: {lab: {kubernetes: {kubeconfig, context: 'vaultctl-lab'},
      provision: {helm: {release, namespace: `${release}-system`, timeout, values: {namespaces: ns, ...values}}}}}}))
    return file
  }
  // apply writes what it applies into --out (not the working directory)
  const cli = (args: string[], cfg = config()) => vaultctl([...args, ...(args[1] === 'apply' ? ['--out', join(work, 'rendered')] : []), '--config', cfg], {env: {VAULTCTL_AUDIT_FILE: inject('auditFile')}})
  const replicas = async () => (await apps.readNamespacedDeployment({name: `${release}-llm-vault-api`, namespace: ns.app})).spec?.replicas

  beforeAll(() => {
    kc.loadFromFile(kubeconfig)
    apps = kc.makeApiClient(AppsV1Api)
    core = kc.makeApiClient(CoreV1Api)
  })
  afterAll(async () => {
    const helm = helmBinary()
    if (helm) await new Promise((r) => spawn(helm, ['uninstall', release, '-n', `${release}-system`, '--kubeconfig', kubeconfig], {stdio: 'ignore', env: helmEnv()}).on('exit', r))
    for (const n of [...Object.values(ns), `${release}-system`]) await core?.deleteNamespace({name: n}).catch(() => undefined)
  })

  it('validate sends every manifest to the API server as a server-side dry-run and names what it rejects', async () => {
    const ok = await cli(['provision', 'validate', '--json'])
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    const check = ok.json<ProvisionValidateResult>().checks.find((c) => c.id === 'server-dry-run')!
    expect(check.status).toBe('passed')
    expect(check.detail).toMatch(/^42\/42 manifests accepted by the API server at https:\/\/127\.0\.0\.1:\d+ \(server-side apply, dryRun=All\); \d+ bound for namespaces the chart creates were checked in namespace default$/)
    // a hand-edited render the offline schema cannot catch (an invalid label value) but the API server does
    const out = join(work, 'bad')
    expect((await cli(['provision', 'render', '--out', out, '--json'])).code).toBe(0)
    const manifests = readFileSync(join(out, 'manifests.yaml'), 'utf8')
    writeFileSync(join(out, 'manifests.yaml'), manifests.replace(/(kind: ConfigMap\nmetadata:\n {2}name: [^\n]+\n {2}namespace: [^\n]+\n {2}labels:\n)/, '$1    bad-label: "not a valid value!"\n'))
    const bad = await cli(['provision', 'validate', '--dir', out, '--json'])
    expect(bad.code).toBe(1)
    const failed = bad.json<ProvisionValidateResult>().checks.find((c) => c.id === 'server-dry-run')!
    expect(failed.status).toBe('failed')
    expect(failed.problems).toHaveLength(1)
    expect(failed.problems[0]!.message).toContain('Invalid value: "not a valid value!"')
    await expect(core.readNamespace({name: ns.app})).rejects.toMatchObject({code: 404}) // a dry-run created nothing
  })

  it('apply installs the chart with helm (the lab\'s cluster is not EKS: no eksctl step); plan then compares with the live release; a changed value is shown, applied, and gone from the plan', async () => {
    const before = await cli(['provision', 'plan', '--json'])
    expect(before.code, before.stderr).toBe(0)
    expect(before.json<ProvisionPlanResult>().baseline).toMatchObject({kind: 'live', source: `release ${release} not installed in ${release}-system`})
    expect(before.json<ProvisionPlanResult>().counts).toEqual({create: 42, update: 0, delete: 0})
    const dry = await cli(['provision', 'apply', '--dry-run', '--json'])
    expect(dry.json<ProvisionApplyResult>().plan.steps.map((s) => s.id)).toEqual(['write-files', 'helm-upgrade', 'helm-verify'])
    const r = await cli(['provision', 'apply', '--yes', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((await apps.readNamespacedDeployment({name: `${release}-llm-vault-api`, namespace: ns.app})).status?.readyReplicas).toBe(2)
    const none = await cli(['provision', 'plan', '--detailed-exitcode', '--json'])
    expect(none.code).toBe(0)
    expect(none.json<ProvisionPlanResult>().counts).toEqual({create: 0, update: 0, delete: 0})

    const three = config({api: {replicaCount: 3}})
    const changed = await cli(['provision', 'plan', '--detailed-exitcode', '--json'], three)
    expect(changed.code).toBe(5)
    const p = changed.json<ProvisionPlanResult>()
    expect(p.baseline.kind).toBe('live')
    expect(p.changes).toEqual([{file: 'manifests.yaml', resource: `Deployment ${ns.app}/${release}-llm-vault-api`, action: 'update', fields: [{path: 'spec.replicas', from: 2, to: 3}]}])
    const up = await cli(['provision', 'apply', '--yes', '--json'], three)
    expect(up.code, up.stdout + up.stderr).toBe(0)
    expect(await replicas()).toBe(3)
    expect((await cli(['provision', 'plan', '--detailed-exitcode', '--json'], three)).code).toBe(0)
  })

  // a CPU limit above the namespace's LimitRange (max 8 per container): the API server admits no new
  // pod, the old ones stay (maxUnavailable 0), --wait times out, and the rollback finds them ready
  const inadmissible = {api: {replicaCount: 3, resources: {limits: {cpu: '10'}}}}

  it('a failed upgrade is rolled back (helm --atomic): exit 1, the release deployed at its previous values', async () => {
    const r = await cli(['provision', 'apply', '--yes', '--json'], config(inadmissible, '15s'))
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/has been rolled back due to atomic being set|UPGRADE FAILED/)
    expect(await replicas()).toBe(3)
    const status = await helmJson(['status', release, '-n', `${release}-system`]) as {info: {status: string}; version: number}
    expect(status.info.status).toBe('deployed')
    expect(status.version).toBeGreaterThanOrEqual(4) // install, upgrade, failed upgrade, rollback
  })

  it('a release left pending-upgrade (helm killed mid-upgrade) is refused with the fix, and recovered with --recover-stuck', async () => {
    const values = join(work, 'stuck-values.yaml')
    writeFileSync(values, readFileSync(join(work, 'rendered', 'values.yaml'), 'utf8').replace(/replicaCount: 3/, 'replicaCount: 4'))
    const helm = spawn(helmBinary()!, ['upgrade', release, join(import.meta.dirname, '../../templates/helm/llm-vault'), '-n', `${release}-system`, '-f', values,
      '--set', 'api.resources.limits.cpu=10', '--wait', '--timeout', '120s', '--kubeconfig', kubeconfig], {stdio: 'ignore', env: helmEnv()})
    await eventually('the release pending-upgrade', 30_000, async () => ((await helmJson(['status', release, '-n', `${release}-system`])) as {info: {status: string}}).info.status === 'pending-upgrade')
    helm.kill('SIGKILL')
    const refused = await cli(['provision', 'apply', '--yes', '--json'], config({api: {replicaCount: 3}}))
    expect(refused.code).toBe(3)
    const err = refused.json<{error: {code: string; message: string; suggestions: string[]}}>().error
    expect(err).toMatchObject({code: 'RELEASE_STUCK'})
    expect(err.message).toMatch(/stuck in pending-upgrade/)
    expect(err.suggestions[0]).toContain('--recover-stuck')
    const fixed = await cli(['provision', 'apply', '--recover-stuck', '--yes', '--json'], config({api: {replicaCount: 3}}))
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0)
    expect(fixed.json<ProvisionApplyResult>().plan.steps.map((s) => s.id)).toEqual(['write-files', 'helm-recover', 'helm-upgrade', 'helm-verify'])
    expect(((await helmJson(['status', release, '-n', `${release}-system`])) as {info: {status: string}}).info.status).toBe('deployed')
    expect(await replicas()).toBe(3)
  })

  function helmEnv() {
    return {...process.env, HELM_CACHE_HOME: toolsCacheDir('helm', 'cache'), HELM_CONFIG_HOME: toolsCacheDir('helm', 'config'), HELM_DATA_HOME: toolsCacheDir('helm', 'data')}
  }
  async function helmJson(args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let out = ''
      const c = spawn(helmBinary()!, [...args, '-o', 'json', '--kubeconfig', kubeconfig], {env: helmEnv()})
      c.stdout.on('data', (d) => { out += d })
      c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`helm ${args.join(' ')} exited ${code}`))))
    })
  }
})
