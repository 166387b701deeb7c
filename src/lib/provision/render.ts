// `provision render`: the eksctl ClusterConfig, the Helm values and the rendered manifests of an
// environment. Deterministic: the same inputs give byte-identical files (no times, stable order).
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {helmBinary, helmMajor, helmWithValues} from '../clients/helm.js'
import {readRequired} from '../clients/files.js'
import type {WriteFiles} from '../plan/operations.js'
import {failure, refusal} from '../errors.js'
import {templatesDir} from '../paths.js'
import {deepMerge, workerSplit, type ProvisionInputs} from './inputs.js'
import {readYamlTemplate, substitute} from '../template.js'


export const CHART_DIR = () => join(templatesDir(), 'helm', 'llm-vault')
export const FILES = {clusterConfig: 'clusterconfig.yaml', values: 'values.yaml', manifests: 'manifests.yaml', meta: 'render.json'} as const

export type Rendered = {
  env: string
  inputs: ProvisionInputs
  clusterConfig: Record<string, unknown>
  values: Record<string, unknown>
  files: Record<string, string>
  /** The helm that rendered them, for the commands that follow (lint, status, upgrade). */
  helmBin: string
  helmVersion: string
  helmMajor: number
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

export async function renderClusterConfig(inputs: ProvisionInputs): Promise<Record<string, unknown>> {
  const template = await readYamlTemplate<Record<string, unknown>>('eksctl', 'clusterconfig.yaml')
  const data = {...inputs, nodePools: {...inputs.nodePools, worker: {...inputs.nodePools.worker, ...workerSplit(inputs.nodePools.worker)}}}
  const cc = substitute(template, data) as {managedNodeGroups: {maxSize: number}[]}
  cc.managedNodeGroups = cc.managedNodeGroups.filter((g) => g.maxSize > 0)
  return cc as unknown as Record<string, unknown>
}

export async function effectiveValues(inputs: ProvisionInputs): Promise<Record<string, unknown>> {
  const profileValues = await readYamlTemplate<Record<string, unknown>>('values', `${inputs.profile}.yaml`)
  return deepMerge(profileValues, inputs.helm.values)
}

export async function requireHelm(): Promise<{bin: string; major: number; version: string}> {
  const bin = helmBinary()
  if (!bin) throw refusal('NO_HELM', 'helm is not installed', ['vaultctl lab install --tools helm   (builds it from its Go module into ~/.cache/vaultctl/helm/bin)'])
  return {bin, ...(await helmMajor(bin))}
}

/** helm template of the chart with these values, for this cluster version. */
export async function helmTemplate(bin: string, inputs: ProvisionInputs, valuesYaml: string): Promise<string> {
  const r = await helmWithValues(bin, (values) => ['template', inputs.helm.release, CHART_DIR(), '--namespace', inputs.helm.namespace, '--kube-version', inputs.cluster.version,
    '-f', values], valuesYaml)
  if (r.exitCode !== 0) throw failure('HELM_TEMPLATE', `helm template failed: ${r.stderr.trim().slice(-2000)}`, ['Run `vaultctl provision validate` for the details.'])
  return r.stdout
}

export async function render(env: string, inputs: ProvisionInputs): Promise<Rendered> {
  const {stringify} = await import('yaml')
  const {bin, major, version} = await requireHelm()
  const clusterConfig = await renderClusterConfig(inputs)
  const values = await effectiveValues(inputs)
  const header = (what: string) => `# ${what} for environment ${env} (profile ${inputs.profile}), rendered by vaultctl provision render. Do not edit: change the config and re-render.\n`
  const yamlOpts = {lineWidth: 0, aliasDuplicateObjects: false} as const
  const files: Record<string, string> = {
    [FILES.clusterConfig]: header('eksctl ClusterConfig') + stringify(clusterConfig, yamlOpts),
    [FILES.values]: header('Helm values of chart llm-vault') + stringify(values, yamlOpts),
  }
  files[FILES.manifests] = await helmTemplate(bin, inputs, files[FILES.values]!)
  const chart = readRequired(join(CHART_DIR(), 'Chart.yaml'))
  files[FILES.meta] = JSON.stringify({
    env, profile: inputs.profile, release: inputs.helm.release, namespace: inputs.helm.namespace, cluster: inputs.cluster.name, region: inputs.cluster.region,
    chart: {version: /^version:\s*(\S+)/m.exec(chart)?.[1], sha256: sha256(chart)},
    helm: `v${major}`,
    files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha256(v)])),
  }, null, 2) + '\n'
  return {env, inputs, clusterConfig, values, files, helmBin: bin, helmVersion: version, helmMajor: major}
}

/** The operation that writes the rendered files into outDir (their content is part of the plan). */
export function writeFilesOp(r: Rendered, env: string, outDir: string): WriteFiles {
  return {kind: 'files.write', dir: outDir, files: Object.entries(r.files).sort(([a], [b]) => a.localeCompare(b)).map(([name, content]) => ({name, content})),
    command: ['vaultctl', 'provision', 'render', '--env', env, '--out', outDir]}
}

/** Split a multi-document YAML stream into parsed objects (empty documents dropped). */
export async function parseManifests(text: string): Promise<Record<string, unknown>[]> {
  const {parseAllDocuments} = await import('yaml')
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>).filter((d) => d && typeof d === 'object')
}
