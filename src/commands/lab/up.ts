import {Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {BaseCommand} from '../../base-command.js'
import {optionalIntFlag} from '../../lib/flags.js'
import {failure} from '../../lib/errors.js'
import {labDirFlag} from '../../lib/lab/flags.js'
import {useLabAccess} from '../../lib/lab/services.js'
import {LAB_COMPONENTS, OPTIONAL_COMPONENTS, newLayout, parsePortOverrides, readLayout, validatePorts, type LabComponent, type S3Server} from '../../lib/lab/layout.js'
import {planLabUp} from '../../lib/lab/plan.js'
import {labSummary, type LabUpResult} from '../../lib/lab/summary.js'

/** What --json prints. */
export type LabUpCommandResult = LabUpResult

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary = 'Start the lab: Patroni PostgreSQL 15 + etcd, a Redis Cluster, S3 with versioning, Prometheus'
  static override description = 'Idempotent: starts only what is missing, waits until each service really answers, then writes the `lab` environment. Ports and the S3 server are remembered in the lab dir.'
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --install', '<%= config.bin %> lab up --dry-run', '<%= config.bin %> lab up --dir /tmp/lab2 --base-port 22000 --s3 minio', '<%= config.bin %> lab up --with kubernetes']
  static override flags = {
    dir: labDirFlag,
    install: Flags.boolean({description: 'install missing programs (apt, pip, go) as part of the plan'}),
    'base-port': optionalIntFlag({min: 1024, max: 64_000, example: 12_000, description: 'shift every default port: etcd BASE+379, Patroni BASE+8.., PostgreSQL BASE+432.., Redis BASE+701.., S3 BASE+900, Prometheus BASE+90 (default 12000; only when the lab is first created)'}),
    port: Flags.string({description: 'override one port, NAME=PORT (repeatable), e.g. redis-1=7001', multiple: true}),
    s3: Flags.string({description: 'S3 server for a new lab: minio (default: the on-prem target, data on disk) or moto (AWS semantics, and the RDS API; holds every version in memory)', options: ['moto', 'minio']}),
    only: Flags.string({description: 'run only these components in a new lab (default: all)', options: [...LAB_COMPONENTS], multiple: true, delimiter: ','}),
    with: Flags.string({description: 'also run these (a new or an existing lab): kubernetes (etcd 3.6, kube-apiserver, controller-manager, scheduler, kwok nodes; built by lab install, ~10 minutes the first time)',
      options: [...OPTIONAL_COMPONENTS], multiple: true, delimiter: ','}),
  }

  async run(): Promise<LabUpCommandResult> {
    const dir = resolve(this.flags.dir)
    const existing = readLayout(dir)
    if (existing && (this.flags['base-port'] !== undefined || this.flags.port || (this.flags.s3 && this.flags.s3 !== existing.s3Server) || this.flags.only)) {
      this.note(`note: ${dir} already has a lab (ports and S3 server kept); use \`vaultctl lab down --purge\` to change them`)
    }
    const extra = (this.flags.with ?? []) as LabComponent[]
    const base = existing ?? newLayout(dir, {basePort: this.flags['base-port'], ports: parsePortOverrides(this.flags.port), s3Server: this.flags.s3 as S3Server | undefined,
      components: [...(this.flags.only ?? LAB_COMPONENTS), ...extra] as LabComponent[]})
    const layout = {...base, components: [...new Set([...base.components, ...extra])]}
    validatePorts(layout.ports, layout.components)
    useLabAccess(layout)
    const plan = await planLabUp(layout, {install: this.flags.install})
    const outcome = await this.runPlan(plan)
    if (outcome.dryRun) return {dryRun: true, plan: outcome.plan}
    const result = await labSummary(layout, outcome.execution)
    this.out(result.table)
    if (result.notReady.length) {
      throw failure('LAB_NOT_READY', `lab up: ${result.notReady.join(', ')} not ready ${30} s after start-up`, [`See the logs in ${resolve(dir, 'logs')}; \`vaultctl lab status\` re-checks, \`vaultctl lab up\` starts what is missing.`], undefined, result.json)
    }
    return result.json
  }
}
