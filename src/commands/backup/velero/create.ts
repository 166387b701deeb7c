import {Flags} from '@oclif/core'
import {BaseCommand} from '../../../base-command.js'
import {commaList, durationFlag} from '../../../lib/flags.js'
import {requireCluster} from '../../../lib/kube/cluster.js'
import type {OperationResult} from '../../../lib/plan/operations.js'
import {stepResult} from '../../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../../lib/plan/types.js'
import {formatDuration} from '../../../lib/units.js'
import {planVeleroBackup} from '../../../lib/velero/backup.js'
import {parsePairs, veleroName, veleroNamespaceOf} from '../../../lib/velero/restore.js'
import {usageError} from '../../../lib/errors.js'

export type BackupVeleroCreateResult = {dryRun: boolean; name: string; outcome?: OperationResult['velero.await']; plan: PlanData; execution?: ExecutionResult}

export default class BackupVeleroCreate extends BaseCommand<typeof BackupVeleroCreate> {
  static override summary = 'Create a Velero backup through the Kubernetes API and wait for it (exit 1 unless Completed)'
  static override description = 'Default scope as the architecture\'s 8.1 says: all namespaces except kube-system, kept 30 days (--ttl 720h).'
  static override examples = ['<%= config.bin %> backup velero create', '<%= config.bin %> backup velero create --include-namespaces llm-vault-prod --name before-upgrade']
  static override flags = {
    name: Flags.string({description: 'the Backup\'s name (default: vaultctl-<UTC time>)'}),
    'include-namespaces': Flags.string({description: 'namespaces to back up (default: all)', multiple: true}),
    'exclude-namespaces': Flags.string({description: 'namespaces to leave out (default: kube-system when all are included)', multiple: true}),
    ttl: durationFlag({description: 'how long Velero keeps the backup', default: '30d'}),
    'storage-location': Flags.string({description: 'the BackupStorageLocation (default: Velero\'s default)'}),
    selector: Flags.string({description: 'only objects with these labels: k=v[,k2=v2]'}),
    timeout: durationFlag({description: 'how long to wait for the Backup', default: '4h'}),
    wait: Flags.boolean({description: 'wait for the Backup to finish', default: true, allowNo: true}),
  }

  async run(): Promise<BackupVeleroCreateResult> {
    const r = this.environment()
    const f = this.flags
    const cluster = requireCluster(r.env, r.name)
    let selector: Record<string, string> | undefined
    try {
      selector = f.selector ? parsePairs([f.selector], '=', '--selector') : undefined
    } catch (error) {
      throw usageError('BAD_FLAG_VALUE', (error as Error).message, ['e.g. --selector app=api'])
    }
    const include = commaList(f['include-namespaces'])
    const name = f.name ?? veleroName('vaultctl')
    const veleroNamespace = veleroNamespaceOf(r.env)
    const h = Math.floor(f.ttl / 3600)
    const ttl = `${h}h${Math.floor((f.ttl % 3600) / 60)}m${f.ttl % 60}s`
    const plan = planVeleroBackup({name: r.name, protected: r.env.protected}, cluster, {name, veleroNamespace, includeNamespaces: include,
      excludeNamespaces: f['exclude-namespaces'] ? commaList(f['exclude-namespaces']) : include.length ? [] : ['kube-system'], ttl, ...(f['storage-location'] ? {storageLocation: f['storage-location']} : {}),
      ...(selector ? {selector} : {}), timeoutMs: f.timeout * 1000, wait: f.wait})
    const result = await this.runPlan(plan)
    if (result.dryRun) return {dryRun: true, name, plan: result.plan}
    const outcome = stepResult<OperationResult['velero.await']>(result.execution, 'await-backup')
    this.out(outcome ? `Backup ${name}: ${outcome.phase}, ${outcome.itemsDone}/${outcome.itemsTotal} items in ${outcome.seconds.toFixed(1)} s; kept ${formatDuration(f.ttl)}` : `Backup ${name} created; follow it: vaultctl backup velero describe ${name}`)
    return {dryRun: false, name, ...(outcome ? {outcome} : {}), plan: result.plan, execution: result.execution}
  }
}
