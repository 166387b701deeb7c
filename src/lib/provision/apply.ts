// `provision apply`: write the rendered files, create the EKS cluster (or create/scale its node
// groups when it exists) with eksctl, then `helm upgrade --install` with rollback on failure,
// wait and timeout. Each step's printed command is built from the very argv it runs.
import {eksctl, eksctlBinary, eksctlJson} from '../clients/eksctl.js'
import {shellLine} from '../plan/operations.js'
import {helm} from '../clients/helm.js'
import {errorMessage, refusal} from '../errors.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import type {ProvisionInputs} from './inputs.js'
import {CHART_DIR, FILES, writeFilesOp, type Rendered} from './render.js'

export {shellLine}

/** Helm 3: --atomic, --wait. Helm 4 renamed --atomic to --rollback-on-failure and made --wait a strategy. */
export function helmUpgradeArgs(major: number, o: {release: string; chart: string; namespace: string; values: string; timeout: string}): string[] {
  return ['upgrade', '--install', o.release, o.chart, '--namespace', o.namespace, '--create-namespace', '-f', o.values,
    ...(major >= 4 ? ['--rollback-on-failure', '--wait=watcher'] : ['--atomic', '--wait']), '--timeout', o.timeout]
}

/**
 * A release stuck in pending-* blocks every upgrade: refuse, naming the fix, unless told to
 * recover (rollback; uninstall for a first install that never finished). undefined: not stuck.
 */
export function stuckReleaseFix(release: {status: string; revision?: number} | undefined, inputs: Pick<ProvisionInputs, 'helm'>, recover: boolean): string[] | undefined {
  if (!release?.status.startsWith('pending-')) return undefined
  const fix = release.status === 'pending-install' ? ['uninstall', inputs.helm.release, '--namespace', inputs.helm.namespace] : ['rollback', inputs.helm.release, '--namespace', inputs.helm.namespace, '--wait']
  if (!recover) {
    throw refusal('RELEASE_STUCK', `release ${inputs.helm.release} is stuck in ${release.status} (revision ${release.revision}): helm refuses to upgrade it`,
      [`If no other helm operation is running on it, re-run with --recover-stuck (runs: ${shellLine(['helm', ...fix])}), or run that yourself.`])
  }
  return fix
}

type NodeGroupLive = {Name: string; MinSize: number; MaxSize: number; DesiredCapacity: number}
type ReleaseStatus = {status: string; revision?: number} | undefined

export type ApplyObserved = {eksctl: string; cluster: 'exists' | 'absent' | 'unknown' | 'not applied'; nodeGroups?: NodeGroupLive[]; release: string}

/** What apply does: the EKS cluster (eksctl) and the chart (helm), or one of them. */
export type ApplyScope = 'all' | 'cluster' | 'helm'

async function observe(inputs: ProvisionInputs, helmBin: string, kubeArgs: string[], scope: ApplyScope): Promise<{obs: ApplyObserved; release: ReleaseStatus}> {
  const obs: ApplyObserved = {eksctl: eksctlBinary() ?? 'not installed', cluster: scope === 'helm' ? 'not applied' : 'unknown', release: scope === 'cluster' ? 'not applied' : 'unknown'}
  if (eksctlBinary() && scope !== 'helm') {
    try {
      const r = await eksctl(['get', 'cluster', '--name', inputs.cluster.name, '--region', inputs.cluster.region, '-o', 'json'], 60_000)
      obs.cluster = r.exitCode === 0 ? 'exists' : /not found|No cluster found|ResourceNotFoundException/i.test(r.stderr) ? 'absent' : 'unknown'
      if (obs.cluster === 'exists') obs.nodeGroups = await eksctlJson<NodeGroupLive[]>(['get', 'nodegroup', '--cluster', inputs.cluster.name, '--region', inputs.cluster.region, '-o', 'json'])
    } catch {
      obs.cluster = 'unknown'
    }
  }
  let release: ReleaseStatus
  if (scope === 'cluster') return {obs, release}
  const s = await helm(helmBin, ['status', inputs.helm.release, '--namespace', inputs.helm.namespace, '-o', 'json', ...kubeArgs], {timeoutMs: 30_000}).catch(() => undefined)
  if (s?.exitCode === 0) {
    const j = JSON.parse(s.stdout) as {info?: {status?: string}; version?: number}
    release = {status: j.info?.status ?? 'unknown', revision: j.version}
    obs.release = `${release.status} (revision ${release.revision})`
  } else if (s && /release: not found/.test(s.stderr)) {
    obs.release = 'not installed'
  } else {
    obs.release = `unknown (${(s?.stderr ?? 'helm did not run').trim().split('\n').at(-1)})`
  }
  return {obs, release}
}

export async function planApply(env: {name: string; protected: boolean}, r: Rendered, o: {outDir: string; helmBin: string; recoverStuck: boolean; scope: ApplyScope; kube?: {context?: string; kubeconfig?: string}}): Promise<{plan: Plan; observed: ApplyObserved}> {
  const inputs = r.inputs
  const scope = o.scope
  // helm talks to the environment's cluster: its kubeconfig and context, when configured.
  const kubeArgs = [...(o.kube?.kubeconfig ? ['--kubeconfig', o.kube.kubeconfig] : []), ...(o.kube?.context ? ['--kube-context', o.kube.context] : [])]
  const {obs, release} = await observe(inputs, o.helmBin, kubeArgs, scope)
  const cc = `${o.outDir}/${FILES.clusterConfig}`
  const values = `${o.outDir}/${FILES.values}`
  const step = (id: string, title: string, risk: Step['risk'], tool: 'eksctl' | 'helm', args: string[]): Step =>
    ({id, title, risk, op: {kind: 'exec', program: tool, argv: tool === 'helm' ? [...args, ...kubeArgs] : args, timeoutMs: 3600_000}})
  const steps: Step[] = [{id: 'write-files', title: `write the rendered files into ${o.outDir}`, risk: 'write', op: writeFilesOp(r, env.name, o.outDir)}]
  const groups = (r.clusterConfig as {managedNodeGroups: {name: string; minSize: number; maxSize: number; desiredCapacity: number}[]}).managedNodeGroups
  if (scope === 'helm') {
    // the EKS part is not applied (e.g. the lab, whose cluster is not EKS)
  } else if (obs.cluster !== 'exists') {
    steps.push(step('eksctl-create-cluster', `create EKS cluster ${inputs.cluster.name} in ${inputs.cluster.region} with ${groups.length} node groups`, 'write', 'eksctl', ['create', 'cluster', '-f', cc]))
  } else {
    const live = obs.nodeGroups ?? []
    const missing = groups.filter((g) => !live.some((l) => l.Name === g.name))
    if (missing.length) steps.push(step('eksctl-create-nodegroups', `create node groups ${missing.map((g) => g.name).join(', ')}`, 'write', 'eksctl', ['create', 'nodegroup', '-f', cc, `--include=${missing.map((g) => g.name).join(',')}`]))
    for (const g of groups) {
      const l = live.find((x) => x.Name === g.name)
      if (l && (l.MinSize !== g.minSize || l.MaxSize !== g.maxSize || l.DesiredCapacity !== g.desiredCapacity)) {
        steps.push(step(`eksctl-scale-${g.name}`, `scale node group ${g.name}: ${l.MinSize}/${l.DesiredCapacity}/${l.MaxSize} -> ${g.minSize}/${g.desiredCapacity}/${g.maxSize} (min/desired/max)`, 'write', 'eksctl',
          ['scale', 'nodegroup', '--cluster', inputs.cluster.name, '--region', inputs.cluster.region, '--name', g.name, '--nodes', String(g.desiredCapacity), '--nodes-min', String(g.minSize), '--nodes-max', String(g.maxSize)]))
      }
    }
  }
  if (scope !== 'cluster') {
    const fix = stuckReleaseFix(release, inputs, o.recoverStuck)
    if (fix) steps.push(step('helm-recover', `recover the release stuck in ${release!.status}`, 'destructive', 'helm', fix))
    const upgrade = helmUpgradeArgs(r.helmMajor, {release: inputs.helm.release, chart: CHART_DIR(), namespace: inputs.helm.namespace, values, timeout: inputs.helm.timeout})
    steps.push(step('helm-upgrade', `helm upgrade --install ${inputs.helm.release} (Helm ${r.helmMajor}: ${r.helmMajor >= 4 ? '--rollback-on-failure' : '--atomic'}, wait ${inputs.helm.timeout})`, 'write', 'helm', upgrade))
    steps.push({id: 'helm-verify', title: `verify release ${inputs.helm.release} is deployed`, risk: 'read',
      op: {kind: 'helm.expect-status', release: inputs.helm.release, namespace: inputs.helm.namespace, kubeArgs, status: 'deployed'}})
  }
  const preconditions: Precondition[] = scope === 'helm' ? [] : [
    {id: 'eksctl', description: 'eksctl is installed', async check() {
      return eksctlBinary() ? {ok: true, detail: eksctlBinary()!} : {ok: false, detail: 'eksctl is not installed', suggestions: ['Install eksctl (https://eksctl.io/installation/), or apply by hand: `--dry-run` prints every command.']}
    }},
    {id: 'cluster-access', description: 'the AWS account and cluster are reachable', async check() {
      if (!eksctlBinary()) return {ok: false, detail: 'eksctl is not installed'}
      try {
        await eksctlJson(['get', 'cluster', '--region', inputs.cluster.region, '-o', 'json'])
        return {ok: true, detail: `AWS region ${inputs.cluster.region} answers`}
      } catch (error) {
        return {ok: false, detail: errorMessage(error), suggestions: ['Check AWS credentials (aws sts get-caller-identity) and the region.']}
      }
    }},
  ]
  return {observed: obs, plan: {
    command: 'provision apply', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `apply ${env.name}: ${[scope !== 'helm' ? `${obs.cluster === 'exists' ? 'update' : 'create'} EKS cluster ${inputs.cluster.name}` : '', scope !== 'cluster' ? `helm upgrade --install ${inputs.helm.release} in ${inputs.helm.namespace}` : ''].filter(Boolean).join(', then ')}${scope === 'helm' ? ' (the EKS cluster is not applied: --only cluster or --only all prints it)' : ''}`,
    observed: {eksctl: obs.eksctl, cluster: obs.cluster, release: obs.release, helm: `v${r.helmMajor} (${r.helmVersion})`},
    preconditions, steps,
    recovery: 'eksctl and helm steps can be re-run: eksctl skips what exists, helm upgrade --install is idempotent and rolls a failed upgrade back by itself.',
  }}
}
