// `vaultctl provision` with the real helm (built from its Go module), eksctl's real ClusterConfig
// schema (../shared/fixtures) and the Kubernetes API schema from the k8s.io/kubernetes module.
// Golden renders are reviewed files: regenerate with VAULTCTL_UPDATE_GOLDEN=1 only after reading
// the diff.
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {stringify} from 'yaml'
import {beforeAll, describe, expect, it} from 'vitest'
import type {ProvisionApplyResult} from '../../src/commands/provision/apply.js'
import type {ProvisionPlanResult} from '../../src/commands/provision/plan.js'
import type {ProvisionRenderResult} from '../../src/commands/provision/render.js'
import type {ProvisionValidateResult} from '../../src/commands/provision/validate.js'
import {vaultctl} from '../helpers/cli.js'
import {fixturesDir} from '../helpers/fixtures.js'
import {eksctlBinary} from '../../src/lib/clients/eksctl.js'

const ENVS = ['production', 'staging', 'development', 'lab'] as const
const SCHEMA = join(fixturesDir(), 'eksctl', 'clusterconfig.schema.json')
const GOLDEN = resolve(import.meta.dirname, '../golden/provision')
const CHART = resolve(import.meta.dirname, '../../templates/helm/llm-vault')
let work = ''

/** A config with the four environments; `extra` adds to one of them. */
function config(extra: Record<string, Record<string, unknown>> = {}): string {
  const envs: Record<string, Record<string, unknown>> = {production: {protected: true}, staging: {}, development: {}, lab: {}}
  for (const [k, v] of Object.entries(extra)) envs[k] = {...envs[k], ...v}
  const file = join(mkdtempSync(join(work, 'cfg-')), 'vaultctl.yaml')
  writeFileSync(file, stringify({apiVersion: 'vaultctl/v1', environments: envs}))
  return file
}
// eksctl's schema from the fixture, and eksctl itself absent, unless a test says otherwise.
const cli = (args: string[], cfg = config(), env: Record<string, string | undefined> = {}) =>
  vaultctl([...args, '--config', cfg], {env: {VAULTCTL_EKSCTL_SCHEMA: SCHEMA, VAULTCTL_EKSCTL: '/nonexistent/eksctl', ...env}})
const eksctlInstalled = Boolean(eksctlBinary())

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vaultctl-provision-'))
})

describe('provision render', () => {
  it.each(ENVS)('%s renders the golden files, byte-identical on re-run', async (env) => {
    const cfg = config()
    const [a, b] = [join(work, `${env}-a`), join(work, `${env}-b`)]
    for (const out of [a, b]) {
      const r = await cli(['provision', 'render', '--env', env, '--out', out, '--json'], cfg)
      expect(r.code, r.stderr).toBe(0)
      expect(r.json<ProvisionRenderResult>().files.map((f) => f.name)).toEqual(['clusterconfig.yaml', 'manifests.yaml', 'render.json', 'values.yaml'])
    }
    const names = readdirSync(a).sort()
    for (const n of names) expect(readFileSync(join(b, n), 'utf8'), `${n} differs between two renders`).toBe(readFileSync(join(a, n), 'utf8'))
    if (process.env.VAULTCTL_UPDATE_GOLDEN) {
      mkdirSync(join(GOLDEN, env), {recursive: true})
      cpSync(a, join(GOLDEN, env), {recursive: true})
    }
    for (const n of names) expect(readFileSync(join(a, n), 'utf8'), `${env}/${n} differs from the reviewed golden file`).toBe(readFileSync(join(GOLDEN, env, n), 'utf8'))
    // Re-rendering into the same directory reports every file unchanged.
    const again = await cli(['provision', 'render', '--env', env, '--out', a, '--json'], cfg)
    expect(again.json<ProvisionRenderResult>().files.every((f) => f.change === 'unchanged')).toBe(true)
  })

  it('--dry-run writes nothing; a real render leaves an audit record', async () => {
    const out = join(work, 'dry-render')
    const audit = join(work, 'render-audit.jsonl')
    const dry = await vaultctl(['provision', 'render', '--env', 'lab', '--out', out, '--dry-run', '--json', '--config', config()], {env: {VAULTCTL_AUDIT_FILE: audit}})
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json<ProvisionRenderResult>()).toMatchObject({dryRun: true, files: expect.arrayContaining([expect.objectContaining({name: 'manifests.yaml', change: 'new'})])})
    expect(existsSync(out)).toBe(false)
    expect(existsSync(audit)).toBe(false)
    const real = await vaultctl(['provision', 'render', '--env', 'lab', '--out', out, '--json', '--config', config()], {env: {VAULTCTL_AUDIT_FILE: audit}})
    expect(real.code, real.stderr).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['clusterconfig.yaml', 'manifests.yaml', 'render.json', 'values.yaml'])
    const records = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {command: string; status: string})
    expect(records).toMatchObject([{command: 'provision render', status: 'succeeded'}])
  })

  it('shows what the architecture asks for: node pools, namespaces, probes, security contexts, thresholds', () => {
    const prod = readFileSync(join(GOLDEN, 'production', 'manifests.yaml'), 'utf8')
    const cc = readFileSync(join(GOLDEN, 'production', 'clusterconfig.yaml'), 'utf8')
    for (const g of ['api-pool', 'worker-ondemand', 'worker-spot', 'data-pool']) expect(cc).toContain(`name: ${g}`)
    for (const ns of ['llm-vault-prod', 'llm-vault-data', 'llm-vault-jobs']) expect(prod).toContain(`name: ${ns}\n`)
    for (const s of ['/health/startup', '/health/live', '/health/ready', 'readOnlyRootFilesystem: true', 'minAvailable: 2', 'maxReplicas: 20',
      'kind: PeerAuthentication', 'kind: PrometheusRule', 'backup-validator', '- validate', 'kind: ExternalSecret', 'name: default-deny-all']) expect(prod).toContain(s)
    expect(prod).not.toMatch(/password|secretKey: [A-Za-z0-9+/]{20,}/i)
  })
})

describe('provision validate', () => {
  it.each(ENVS)('%s passes every check, none skipped but the server dry-run', async (env) => {
    const r = await cli(['provision', 'validate', '--env', env, '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const res = r.json<ProvisionValidateResult>()
    expect(Object.fromEntries(res.checks.map((c) => [c.id, c.status]))).toEqual({
      clusterconfig: 'passed', 'eksctl-schema': 'passed', 'helm-lint': 'passed', 'kubernetes-schema': 'passed', 'server-dry-run': 'skipped', rules: 'passed'})
    expect(res.manifests.filter((m) => m.status === 'valid').length).toBeGreaterThan(30)
    // Custom resources too: validated against their CRDs (Istio, Prometheus operator, KEDA, External Secrets).
    expect(res.manifests.filter((m) => m.status !== 'valid')).toEqual([])
  })

  // eksctl builds from its Go module in ~8 minutes (`vaultctl lab install --tools eksctl`), too long
  // for CI on a fresh machine: this test runs where it was built, and is skipped (saying so) elsewhere.
  it.skipIf(!eksctlInstalled)('every environment is valid against `eksctl utils schema` (needs eksctl: skipped where it was not built, as in CI)', async () => {
    for (const env of ENVS) {
      const r = await cli(['provision', 'validate', '--env', env, '--json'], config(), {VAULTCTL_EKSCTL_SCHEMA: undefined, VAULTCTL_EKSCTL: undefined})
      expect(r.code, r.stdout).toBe(0)
      expect(r.json<ProvisionValidateResult>().checks.find((c) => c.id === 'eksctl-schema')).toMatchObject({status: 'passed', detail: expect.stringContaining('eksctl utils schema')})
    }
  })

  const rejected = async (extra: Record<string, unknown>, env = 'staging') => {
    const r = await cli(['provision', 'validate', '--env', env, '--json'], config({[env]: extra}))
    return {code: r.code, text: `${r.stdout}\n${r.stderr}`, json: r.json<{error?: {code: string; message: string}} & Partial<ProvisionValidateResult>>()}
  }

  it('a typo in the config is rejected with its path', async () => {
    const {code, json} = await rejected({provision: {nodePools: {api: {desiredCapasity: 4}}}})
    expect(code).toBe(2)
    expect(json.error!.message).toMatch(/environments\.staging\.provision\.nodePools\.api\.desiredCapasity \(line \d+\): unknown key "desiredCapasity"/)
  })

  it('a typo in a rendered ClusterConfig (edited by hand) is named with its path by both schemas', async () => {
    const dir = join(work, 'typo')
    expect((await cli(['provision', 'render', '--env', 'staging', '--out', dir])).code).toBe(0)
    const file = join(dir, 'clusterconfig.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('    desiredCapacity: 2\n', '    desiredCapasity: 2\n'))
    const r = await cli(['provision', 'validate', '--env', 'staging', '--dir', dir, '--json'])
    expect(r.code).toBe(1)
    const checks = r.json<ProvisionValidateResult>().checks
    expect(checks.find((c) => c.id === 'clusterconfig')!.problems).toContainEqual({file: 'clusterconfig.yaml', path: 'managedNodeGroups[0].desiredCapasity', message: 'unknown key (eksctl would ignore it silently)'})
    expect(checks.find((c) => c.id === 'eksctl-schema')!.problems).toContainEqual({file: 'clusterconfig.yaml', path: 'managedNodeGroups[0].desiredCapasity', message: 'unknown key (not in the schema)'})
  })

  it('a typo in a custom resource (Istio, Prometheus operator) is named with its path, from the CRD schema', async () => {
    const dir = join(work, 'crd-typo')
    expect((await cli(['provision', 'render', '--env', 'production', '--out', dir])).code).toBe(0)
    const file = join(dir, 'manifests.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('      timeout: 30s\n', '      timout: 30s\n').replace('          for: 5m\n', '          fore: 5m\n'))
    const r = await cli(['provision', 'validate', '--env', 'production', '--dir', dir, '--json'])
    expect(r.code).toBe(1)
    const problems = r.json<ProvisionValidateResult>().checks.find((c) => c.id === 'kubernetes-schema')!.problems
    expect(problems).toContainEqual({file: 'manifests.yaml', path: 'VirtualService llm-vault-prod/llm-vault-api: spec.http[0].timout', message: 'unknown field (not in the Kubernetes API schema)'})
    expect(problems).toContainEqual({file: 'manifests.yaml', path: 'PrometheusRule llm-vault-prod/llm-vault-thresholds: spec.groups[0].rules[0].fore', message: 'unknown field (not in the Kubernetes API schema)'})
  })

  it('a bad CIDR is rejected with its path', async () => {
    const {code, json} = await rejected({provision: {cluster: {vpcCidr: '10.0.0.0/33'}}})
    expect(code).toBe(2)
    expect(json.error!.message).toContain('environments.staging.provision.cluster.vpcCidr: expected an IPv4 CIDR')
  })

  it('an unknown instance type is rejected with its path', async () => {
    const {code, json} = await rejected({provision: {nodePools: {worker: {instanceTypes: ['c6i.2xlarge', 'c6i.2xlarg']}}}})
    expect(code).toBe(2)
    expect(json.error!.message).toContain('environments.staging.provision.nodePools.worker.instanceTypes[1]: unknown EC2 instance type "c6i.2xlarg"')
  })

  it('a request above its limit is rejected with the manifest path', async () => {
    const {code, json} = await rejected({provision: {helm: {values: {api: {resources: {requests: {cpu: '3000m'}}}}}}})
    expect(code).toBe(1)
    expect(json.checks!.find((c) => c.id === 'rules')!.problems).toContainEqual({file: 'manifests.yaml',
      path: 'Deployment llm-vault-staging/llm-vault-api: spec.template.spec.containers[0].resources.requests.cpu', message: 'request 3000m is above the limit 2000m'})
  })

  it('a PDB that blocks every eviction is rejected', async () => {
    const {code, json} = await rejected({provision: {helm: {values: {api: {pdb: {minAvailable: 3}}}}}})
    expect(code).toBe(1)
    expect(json.checks!.find((c) => c.id === 'rules')!.problems.map((p) => p.path)).toContain('PodDisruptionBudget llm-vault-staging/llm-vault-api: spec.minAvailable')
  })
})

describe('provision plan', () => {
  it('detects a changed value against the last rendered output (--detailed-exitcode 5, not the usage error 2), and none after re-rendering (0)', async () => {
    const dir = join(work, 'plan')
    const before = config()
    expect((await cli(['provision', 'render', '--env', 'staging', '--out', dir], before)).code).toBe(0)
    const same = await cli(['provision', 'plan', '--env', 'staging', '--dir', dir, '--detailed-exitcode', '--json'], before)
    expect(same.code, same.stderr).toBe(0)
    expect(same.json<ProvisionPlanResult>().changes).toEqual([])

    const after = config({staging: {provision: {nodePools: {api: {desiredCapacity: 3}}, helm: {values: {api: {resources: {limits: {memory: '6Gi'}}}}}}}})
    const changed = await cli(['provision', 'plan', '--env', 'staging', '--dir', dir, '--detailed-exitcode', '--json'], after)
    expect(changed.code).toBe(5)
    const res = changed.json<ProvisionPlanResult>()
    expect(res.baseline.kind).toBe('rendered')
    expect(res.changes).toContainEqual({file: 'clusterconfig.yaml', resource: 'ClusterConfig', action: 'update',
      fields: [{path: 'managedNodeGroups[name=api-pool].desiredCapacity', from: 2, to: 3}]})
    const api = res.changes.find((c) => c.resource === 'Deployment llm-vault-staging/llm-vault-api')!
    expect(api.fields).toContainEqual({path: 'spec.template.spec.containers[name=api].resources.limits.memory', from: '4Gi', to: '6Gi'})
    const text = await cli(['provision', 'plan', '--env', 'staging', '--dir', dir], after)
    expect(text.stdout).toContain('~ ClusterConfig\n    managedNodeGroups[name=api-pool].desiredCapacity: 2 -> 3')
    expect(text.stdout).toMatch(/Plan: 0 to create, 2 to change, 0 to delete\./)
  })

  it('fails (exit 1) when the configured cluster cannot be read, instead of "no changes"; --baseline rendered compares with the render on purpose', async () => {
    const dir = join(work, 'plan-live')
    const cfg = config({staging: {kubernetes: {context: 'no-such-context', kubeconfig: join(work, 'missing-kubeconfig')}}})
    expect((await cli(['provision', 'render', '--env', 'staging', '--out', dir], cfg)).code).toBe(0)
    for (const extra of [[], ['--detailed-exitcode']]) {
      const r = await cli(['provision', 'plan', '--env', 'staging', '--dir', dir, '--json', ...extra], cfg)
      expect(r.code, r.stdout).toBe(1)
      const err = r.json<{error: {code: string; message: string; suggestions: string[]}}>().error
      expect(err.code).toBe('PLAN_LIVE_UNREADABLE')
      expect(err.message).toMatch(/^the live release and cluster could not be read: helm get manifest: /)
      expect(err.suggestions[0]).toContain('--baseline rendered')
    }
    const r = await cli(['provision', 'plan', '--env', 'staging', '--dir', dir, '--baseline', 'rendered', '--detailed-exitcode', '--json'], cfg)
    expect(r.code, r.stderr).toBe(0)
    const res = r.json<ProvisionPlanResult>()
    expect(res.baseline).toMatchObject({kind: 'rendered', source: dir})
    expect(res.changes).toEqual([])
  })
})

describe('provision apply', () => {
  it('--dry-run prints exactly the commands it would run', async () => {
    const out = join(work, 'apply')
    const r = await cli(['provision', 'apply', '--env', 'staging', '--out', out, '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const res = r.json<ProvisionApplyResult>()
    expect(res.plan.typed).toBe(true)
    expect(res.plan.steps[0]!.manual).toMatch(new RegExp(`^vaultctl provision render --env staging --out ${out}   # writes into ${out}: clusterconfig\\.yaml \\(\\d+ bytes, sha256 [0-9a-f]{16}\\), manifests\\.yaml .*values\\.yaml`))
    expect(res.plan.steps.slice(1).map((s) => s.manual)).toEqual([
      `eksctl create cluster -f ${out}/clusterconfig.yaml`,
      `helm upgrade --install llm-vault ${CHART} --namespace llm-vault-system --create-namespace -f ${out}/values.yaml --atomic --wait --timeout 10m`,
      'helm status llm-vault --namespace llm-vault-system',
    ])
    expect(existsSync(out)).toBe(false)
  })

  it('a plan saved to a file holds the rendered files byte for byte; apply re-checks the preconditions (eksctl)', async () => {
    const out = join(work, 'apply-saved')
    const file = join(work, 'provision-plan.json')
    const r = await cli(['provision', 'apply', '--env', 'staging', '--out', out, '--plan-out', file])
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(out)).toBe(false)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {plan: {typed: boolean; steps: {op?: {kind: string; files?: {name: string; content: string}[]}}[]}}
    expect(saved.plan.typed).toBe(true)
    const files = saved.plan.steps[0]!.op!.files!
    expect(files.map((f) => f.name)).toEqual(['clusterconfig.yaml', 'manifests.yaml', 'render.json', 'values.yaml'])
    expect(files.find((f) => f.name === 'clusterconfig.yaml')!.content).toMatch(/^apiVersion: eksctl.io\/v1alpha5/m)
    const applied = await cli(['apply', file, '--yes'])
    expect(applied.code).toBe(3)
    expect(applied.stderr).toMatch(/eksctl is not installed/)
    expect(existsSync(out)).toBe(false)
  })

  it('is refused (exit 3) where eksctl is not installed, naming it', async () => {
    const r = await cli(['provision', 'apply', '--env', 'staging', '--out', join(work, 'apply2'), '--yes'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/eksctl is not installed/)
  })
})
