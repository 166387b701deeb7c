// The baseline `provision plan` compares with: the live release (helm get manifest) and node
// groups (eksctl get nodegroup) when the environment has a reachable cluster, else the last
// rendered output.
import {helm} from '../clients/helm.js'
import {eksctlJson} from '../clients/eksctl.js'
import {errorMessage, failure, usageError} from '../errors.js'
import {readRenderedDir} from './context.js'
import type {ProvisionInputs} from './inputs.js'
import {FILES} from './render.js'

export type Baseline = {kind: 'live' | 'rendered' | 'none'; source: string; files: Record<string, string>; note?: string}

type LiveNodeGroup = {Name?: string; MinSize?: number; MaxSize?: number; DesiredCapacity?: number; InstanceType?: string}

export async function liveBaseline(inputs: ProvisionInputs, helmBin: string, kubeArgs: string[] = [], helmOnly = false): Promise<Baseline> {
  const manifest = await helm(helmBin, ['get', 'manifest', inputs.helm.release, '--namespace', inputs.helm.namespace, ...kubeArgs], {timeoutMs: 30_000})
  // The cluster answered that there is no such release: everything is to be created (not "no changes" against an old render).
  const absent = manifest.exitCode !== 0 && /release: not found/.test(manifest.stderr)
  if (manifest.exitCode !== 0 && !absent) throw new Error(`helm get manifest: ${manifest.stderr.trim().split('\n').at(-1)}`)
  const release = absent ? `release ${inputs.helm.release} not installed in ${inputs.helm.namespace}` : `release ${inputs.helm.release} in ${inputs.helm.namespace}`
  if (helmOnly) return {kind: 'live', source: release, files: {[FILES.manifests]: absent ? '' : manifest.stdout}}
  const groups = await eksctlJson<LiveNodeGroup[]>(['get', 'nodegroup', '--cluster', inputs.cluster.name, '--region', inputs.cluster.region, '-o', 'json'])
  const {stringify} = await import('yaml')
  // Only what eksctl reports back is compared: node group names and sizes.
  const cc = {managedNodeGroups: groups.map((g) => ({name: g.Name, minSize: g.MinSize, maxSize: g.MaxSize, desiredCapacity: g.DesiredCapacity}))}
  return {kind: 'live', source: `${release}, cluster ${inputs.cluster.name}`, files: {[FILES.manifests]: absent ? '' : manifest.stdout, [FILES.clusterConfig]: stringify(cc)}}
}

/**
 * live: the release and node groups (an environment that names a cluster; a cluster that cannot be
 * read is an error, never "no changes"); rendered: the last render in `dir`; auto: live when the
 * environment names a cluster, else rendered.
 */
export async function chooseBaseline(inputs: ProvisionInputs, helmBin: string, opts: {kube?: {context?: string; kubeconfig?: string}; dir: string; helmOnly?: boolean; mode?: 'auto' | 'live' | 'rendered'}): Promise<Baseline> {
  const kube = opts.kube
  const named = Boolean(kube?.context || kube?.kubeconfig)
  const mode = opts.mode === 'auto' || opts.mode === undefined ? (named ? 'live' : 'rendered') : opts.mode
  if (mode === 'live') {
    if (!named) throw usageError('NO_KUBERNETES', 'the environment names no cluster to compare with (kubernetes.kubeconfig or context)', ['Compare with the last render instead: --baseline rendered.'])
    try {
      return await liveBaseline(inputs, helmBin, [...(kube!.kubeconfig ? ['--kubeconfig', kube!.kubeconfig] : []), ...(kube!.context ? ['--kube-context', kube!.context] : [])], opts.helmOnly)
    } catch (error) {
      throw failure('PLAN_LIVE_UNREADABLE', `the live release and cluster could not be read: ${errorMessage(error)}`,
        ['Fix access to the cluster (its kubeconfig and context), or compare with the last render on purpose: --baseline rendered [--dir DIR].'])
    }
  }
  const files = readRenderedDir(opts.dir)
  if (files) return {kind: 'rendered', source: opts.dir, files}
  return {kind: 'none', source: `nothing rendered in ${opts.dir} yet`, files: {}}
}
