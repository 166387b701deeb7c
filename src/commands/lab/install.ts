import {Flags} from '@oclif/core'
import {BaseCommand, type PlanRunResult} from '../../base-command.js'
import {LAB_COMPONENTS, OPTIONAL_COMPONENTS, type LabComponent, type S3Server} from '../../lib/lab/layout.js'
import {installSteps, missingBinaries} from '../../lib/lab/plan.js'
import {TOOLS, toolRequirements, type Tool} from '../../lib/lab/binaries.js'
import {HELM_MODULE, helmCacheBin} from '../../lib/clients/helm.js'
import {schemaSources} from '../../lib/provision/k8s-schema.js'
import {EKSCTL_MODULE, eksctlCacheBin} from '../../lib/clients/eksctl.js'
import {toolsCacheDir} from '../../lib/paths.js'

/** What --json prints. */
export type LabInstallResult = PlanRunResult

export default class LabInstall extends BaseCommand<typeof LabInstall> {
  static override summary = 'Install the programs the lab runs (Debian packages, moto from PyPI, MinIO built from its Go module) and, with --tools, helm and the Kubernetes API schema; only what is missing'
  static override examples = ['<%= config.bin %> lab install --dry-run', '<%= config.bin %> lab install --s3 moto,minio', '<%= config.bin %> lab install --tools helm,k8s-schema']
  static override flags = {
    s3: Flags.string({description: 'S3 servers to install', options: ['moto', 'minio'], multiple: true, delimiter: ',', default: ['moto']}),
    only: Flags.string({description: 'only for these components', options: [...LAB_COMPONENTS], multiple: true, delimiter: ','}),
    with: Flags.string({description: 'also for these: kubernetes (etcd 3.6 ~2 min, kube-apiserver/controller-manager/scheduler ~8 min, kwok ~3 min on 2 cores, the first time)', options: [...OPTIONAL_COMPONENTS], multiple: true, delimiter: ','}),
    tools: Flags.string({description: 'also these tools: helm (built from its Go module), k8s-schema (the Kubernetes OpenAPI schema and the CRDs the chart uses, from their Go modules), eksctl (built from its Go module, ~8 min), mc and s3-pit-restore (the peers of bench/s3-restore.mjs), chromium (Debian: the HTML report test)', options: [...TOOLS], multiple: true, delimiter: ',', default: []}),
  }

  async run(): Promise<LabInstallResult> {
    const components = [...(this.flags.only ?? LAB_COMPONENTS), ...(this.flags.with ?? [])] as LabComponent[]
    const missing = [...missingBinaries(components, this.flags.s3 as S3Server[]),
      ...toolRequirements(this.flags.tools as Tool[], {helmBin: helmCacheBin(), helmModule: HELM_MODULE, schemas: schemaSources(),
        eksctl: {module: EKSCTL_MODULE, bin: eksctlCacheBin(), src: toolsCacheDir('eksctl', 'src')}}).filter((r) => !r.path)]
    const result = await this.runPlan({
      command: 'lab install', env: 'lab', protected: false,
      summary: missing.length ? `install ${missing.map((m) => m.binary).join(', ')}` : 'everything the lab needs is installed',
      observed: {missing: missing.map((m) => m.binary)}, preconditions: [], steps: installSteps(missing),
    })
    if (!result.dryRun) this.out(missing.length ? `Installed: ${missing.map((m) => m.binary).join(', ')}` : 'Nothing to install.')
    return result
  }
}
