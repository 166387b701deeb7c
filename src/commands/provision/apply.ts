import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand, type PlanRunResult} from '../../base-command.js'
import {planApply, type ApplyObserved, type ApplyScope} from '../../lib/provision/apply.js'
import {defaultOutDir} from '../../lib/provision/context.js'
import {resolveProvision, withValuesFiles} from '../../lib/provision/inputs.js'
import {render} from '../../lib/provision/render.js'

export type ProvisionApplyResult = PlanRunResult & {observed: ApplyObserved}

export default class ProvisionApply extends BaseCommand<typeof ProvisionApply> {
  static override summary = 'Apply an environment: eksctl create cluster (or create/scale node groups), then helm upgrade --install with rollback on failure'
  static override description = 'Renders first and writes the files it applies into --out. Detects Helm 3 (--atomic) vs Helm 4 (--rollback-on-failure) and refuses a release stuck in pending-* unless --recover-stuck. --dry-run prints every command exactly as it would run.'
  static override examples = ['<%= config.bin %> provision apply --env staging --dry-run', '<%= config.bin %> provision apply --env production --confirm production']
  static override flags = {
    values: Flags.string({description: 'a values overlay merged over the environment\'s (repeatable; e.g. from report rightsizing --values-out)', multiple: true}),
    out: Flags.string({description: 'where the applied files are written (default: ./rendered/<env>)'}),
    'recover-stuck': Flags.boolean({description: 'roll back (or uninstall, for pending-install) a release stuck in pending-* before upgrading'}),
    only: Flags.string({description: 'apply only the EKS cluster (eksctl) or only the chart (helm); default: both, except for the lab profile, whose cluster is not EKS: helm', options: ['all', 'cluster', 'helm']}),
  }

  async run(): Promise<ProvisionApplyResult> {
    const r = this.environment()
    const inputs = await withValuesFiles(await resolveProvision(r), this.flags.values)
    const rendered = await render(r.name, inputs)
    const {plan, observed} = await planApply({name: r.name, protected: r.env.protected}, rendered,
      {outDir: this.flags.out ? resolve(this.flags.out) : defaultOutDir(r.name), helmBin: rendered.helmBin, recoverStuck: this.flags['recover-stuck'],
        scope: (this.flags.only ?? (inputs.profile === 'lab' ? 'helm' : 'all')) as ApplyScope,
        kube: {context: r.env.kubernetes?.context, kubeconfig: r.env.kubernetes?.kubeconfig}})
    return {...(await this.runPlan(plan)), observed}
  }
}
