// `provision validate`: prove the rendered files are valid before anything touches a cloud.
// Each check names every problem with its file and path; a check that could not run says why
// (and is not counted as passed).
import {z} from 'zod'
import {readJsonFile} from '../clients/files.js'
import {helmWithValues} from '../clients/helm.js'
import {eksctl as eksctlRun, eksctlBinary} from '../clients/eksctl.js'
import {checkClusterConfig, type Problem} from './clusterconfig-schema.js'
import {jsonSchemaValidator} from './json-schema.js'
import {k8sSchemaFile, k8sValidator, type ManifestResult} from './k8s-schema.js'
import {CHART_DIR, FILES, parseManifests} from './render.js'
import {checkRules} from './rules.js'
import type {KubeWhere} from '../plan/ops-lab.js'

export type CheckStatus = 'passed' | 'failed' | 'skipped'
export type ValidateCheck = {id: string; status: CheckStatus; detail: string; problems: (Problem & {file: string})[]; warnings?: (Problem & {file: string})[]}

export type ValidateInputs = {
  files: Record<string, string>
  kubeVersion: string
  helmBin: string
  /** eksctl's JSON schema: a file, or undefined to ask `eksctl utils schema` (when installed). */
  eksctlSchemaFile?: string
  /** the environment's cluster: every manifest is sent to its API server as a server-side dry-run */
  cluster?: KubeWhere
}

/** Server-side apply with dryRun=All of every manifest: what the live API server (admission, CRDs, quotas, immutable fields) says. */
async function serverDryRun(cluster: KubeWhere | undefined, docs: Record<string, unknown>[]): Promise<ValidateCheck> {
  if (!cluster) return {id: 'server-dry-run', status: 'skipped', detail: 'not run: this environment names no cluster (kubernetes.kubeconfig or context; the offline schema check above stands in)', problems: []}
  const {dryRunManifests} = await import('../clients/kube.js')
  let results: Awaited<ReturnType<typeof dryRunManifests>>
  try {
    results = await dryRunManifests(cluster, docs)
  } catch (error) {
    return {id: 'server-dry-run', status: 'skipped', detail: `not run: the cluster (${cluster.context ?? cluster.kubeconfig}) did not answer: ${(error as Error).message}`, problems: []}
  }
  const bad = results.filter((r) => !r.ok)
  const standIns = results.filter((r) => r.standIn).length
  return {id: 'server-dry-run', status: bad.length ? 'failed' : 'passed',
    detail: `${results.length - bad.length}/${results.length} manifests accepted by the API server at ${results[0]?.server ?? '?'} (server-side apply, dryRun=All)${standIns ? `; ${standIns} bound for namespaces the chart creates were checked in namespace default` : ''}`,
    problems: bad.map((r) => ({file: FILES.manifests, path: r.id, message: r.message ?? 'rejected'}))}
}

async function eksctlSchema(file?: string): Promise<{schema?: unknown; source: string}> {
  if (file) {
    const schema = readJsonFile(file, z.looseObject({}))
    return schema === undefined ? {source: `${file} (not found)`} : {schema, source: file}
  }
  const eksctl = eksctlBinary()
  if (!eksctl) return {source: 'none: eksctl is not installed and no --eksctl-schema FILE (or provision.eksctlSchema) was given'}
  const r = await eksctlRun(['utils', 'schema'], 60_000)
  if (r.exitCode !== 0) return {source: `eksctl utils schema failed: ${r.stderr.slice(-200)}`}
  return {schema: JSON.parse(r.stdout), source: `eksctl utils schema (${eksctl})`}
}

const withFile = (file: string) => (p: Problem) => ({...p, file})

export async function validateFiles(v: ValidateInputs): Promise<{checks: ValidateCheck[]; manifests: ManifestResult[]}> {
  const {parse} = await import('yaml')
  const checks: ValidateCheck[] = []
  const cc = parse(v.files[FILES.clusterConfig] ?? '') as unknown

  const strict = checkClusterConfig(cc).map(withFile(FILES.clusterConfig))
  checks.push({id: 'clusterconfig', status: strict.length ? 'failed' : 'passed', detail: strict.length ? `${strict.length} problem(s) against vaultctl's strict ClusterConfig schema` : 'matches vaultctl\'s strict ClusterConfig schema (no unknown keys)', problems: strict})

  const es = await eksctlSchema(v.eksctlSchemaFile)
  if (es.schema) {
    const problems = (await jsonSchemaValidator(es.schema))(cc).map(withFile(FILES.clusterConfig))
    checks.push({id: 'eksctl-schema', status: problems.length ? 'failed' : 'passed', detail: `${problems.length ? `${problems.length} problem(s)` : 'valid'} against eksctl's schema (${es.source}), unknown keys rejected`, problems})
  } else {
    checks.push({id: 'eksctl-schema', status: 'skipped', detail: `not checked: ${es.source}`, problems: []})
  }

  const lint = await helmWithValues(v.helmBin, (values) => ['lint', CHART_DIR(), '--strict', '--kube-version', v.kubeVersion, '-f', values], v.files[FILES.values] ?? '')
  const lines = `${lint.stdout}\n${lint.stderr}`.split('\n').filter((l) => /^\[(ERROR|WARNING)\]/.test(l.trim()) || /^Error/.test(l))
  checks.push({id: 'helm-lint', status: lint.exitCode === 0 ? 'passed' : 'failed', detail: lint.exitCode === 0 ? 'helm lint --strict: no errors or warnings' : 'helm lint --strict failed',
    problems: lines.map((l) => ({file: FILES.values, path: 'chart llm-vault', message: l.trim()}))})

  const docs = await parseManifests(v.files[FILES.manifests] ?? '')
  let manifests: ManifestResult[] = []
  const validator = await k8sValidator()
  if (validator) {
    manifests = docs.map((d) => validator.validate(d))
    const bad = manifests.filter((m) => m.status === 'invalid')
    const noSchema = [...new Set(manifests.filter((m) => m.status === 'no-schema').map((m) => `${m.apiVersion} ${m.kind}`))]
    checks.push({id: 'kubernetes-schema', status: bad.length ? 'failed' : 'passed',
      detail: `${manifests.length - bad.length - manifests.filter((m) => m.status === 'no-schema').length}/${manifests.length} manifests valid against the Kubernetes ${validator.version} API schema and ${validator.crds} CRD schemas (offline)${noSchema.length ? `; not validated (no schema offline): ${noSchema.join(', ')}` : ''}`,
      problems: bad.flatMap((m) => m.problems.map((p) => ({file: FILES.manifests, path: `${m.kind} ${m.namespace ?? ''}/${m.name}: ${p.path}`, message: p.message})))})
  } else {
    checks.push({id: 'kubernetes-schema', status: 'skipped', detail: `not checked: no Kubernetes API schema at ${k8sSchemaFile()} (vaultctl lab install --tools k8s-schema)`, problems: []})
  }
  checks.push(await serverDryRun(v.cluster, docs))

  const findings = checkRules(docs)
  const errors = findings.filter((f) => f.severity === 'error').map(({severity: _s, ...p}) => ({...p, file: FILES.manifests}))
  const warnings = findings.filter((f) => f.severity === 'warning').map(({severity: _s, ...p}) => ({...p, file: FILES.manifests}))
  checks.push({id: 'rules', status: errors.length ? 'failed' : 'passed', detail: `requests <= limits, limits within LimitRange, PDB below replicas, HPA bounds: ${errors.length ? `${errors.length} problem(s)` : 'ok'}${warnings.length ? `; ${warnings.length} warning(s)` : ''}`, problems: errors, warnings})
  return {checks, manifests}
}
