import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {ExitCode} from '../../lib/errors.js'
import {chooseBaseline, type Baseline} from '../../lib/provision/baseline.js'
import {defaultOutDir} from '../../lib/provision/context.js'
import {diffRendered, formatChanges, type ResourceChange} from '../../lib/provision/diff.js'
import {resolveProvision, withValuesFiles} from '../../lib/provision/inputs.js'
import {FILES, render} from '../../lib/provision/render.js'

export type ProvisionPlanResult = {env: string; baseline: Omit<Baseline, 'files'>; changes: ResourceChange[]; counts: {create: number; update: number; delete: number}}

export default class ProvisionPlan extends BaseCommand<typeof ProvisionPlan> {
  static override summary = 'Show what apply would change: against the live release and cluster when reachable, else the last rendered output'
  static override description = 'Field-level diff per resource (+ create, ~ change, - delete) and the same as JSON. With --detailed-exitcode: exit 0 when nothing changes, 5 when something does (1 on error; not the 2 of terraform, which is the usage error of vaultctl). An environment that names a cluster is compared with the live release; when that cannot be read the plan fails (exit 1) instead of comparing with an old render (--baseline rendered does that on purpose).'
  static override examples = ['<%= config.bin %> provision plan --env staging', '<%= config.bin %> provision plan --detailed-exitcode --json']
  static override flags = {
    values: Flags.string({description: 'a values overlay merged over the environment\'s (repeatable; e.g. from report rightsizing --values-out)', multiple: true}),
    dir: Flags.string({description: 'the last rendered output to compare with (default: ./rendered/<env>)'}),
    'detailed-exitcode': Flags.boolean({description: 'exit 5 when there are changes, 0 when there are none'}),
    baseline: Flags.string({description: 'what to compare with: the live release and cluster, or the last render (--dir); default: live when the environment names a cluster (an unreadable cluster is then an error, exit 1), else rendered', options: ['auto', 'live', 'rendered'], default: 'auto'}),
    only: Flags.string({description: 'compare only the EKS cluster or only the chart; default: both, except for the lab profile (its cluster is not EKS): helm', options: ['all', 'cluster', 'helm']}),
  }

  async run(): Promise<ProvisionPlanResult> {
    const r = this.environment()
    const inputs = await withValuesFiles(await resolveProvision(r), this.flags.values)
    const desired = await render(r.name, inputs)
    const scope = this.flags.only ?? (inputs.profile === 'lab' ? 'helm' : 'all')
    const baseline = await chooseBaseline(inputs, desired.helmBin, {kube: {context: r.env.kubernetes?.context, kubeconfig: r.env.kubernetes?.kubeconfig}, dir: this.flags.dir ? resolve(this.flags.dir) : defaultOutDir(r.name), helmOnly: scope === 'helm', mode: this.flags.baseline as 'auto' | 'live' | 'rendered'})
    const only = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).filter(([k]) => scope === 'all' || (scope === 'helm' ? k !== FILES.clusterConfig : k === FILES.clusterConfig)))
    const changes = await diffRendered(only(baseline.files), only(desired.files))
    const counts = {create: 0, update: 0, delete: 0}
    for (const c of changes) counts[c.action]++
    this.out(`Baseline: ${baseline.kind === 'live' ? 'live' : baseline.kind === 'rendered' ? 'last rendered output' : 'none'} (${baseline.source})${baseline.note ? `\nNote: ${baseline.note}` : ''}\n`)
    this.out(formatChanges(changes))
    if (this.flags['detailed-exitcode'] && changes.length) process.exitCode = ExitCode.changes
    const {files: _files, ...b} = baseline
    return {env: r.name, baseline: b, changes, counts}
  }
}
