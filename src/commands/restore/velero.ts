import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import {commaList, durationFlag} from '../../lib/flags.js'
import {requireCluster} from '../../lib/kube/cluster.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {observeVeleroRestore, previewVeleroRestore, veleroKube, type RestorePreview} from '../../lib/velero/observe.js'
import {parsePairs, planVeleroRestore, veleroName, veleroNamespaceOf, type BackupSummary, type VeleroRestoreOptions} from '../../lib/velero/restore.js'
import {table} from '../../lib/table.js'

export type RestoreVeleroResult = {
  dryRun: boolean
  backup: BackupSummary
  restore: string
  targets: Record<string, string[] | null>
  /** --dry-run: each object of the backup and what the restore would do with it (and the API server's server-side dry-run verdict) */
  preview?: RestorePreview
  outcome?: OperationResult['velero.await']
  workloads?: OperationResult['kube.await-workloads']
  plan: PlanData
  execution?: ExecutionResult
}

export default class RestoreVelero extends BaseCommand<typeof RestoreVelero> {
  static override summary = 'Restore from a Velero backup through the Kubernetes API, waited for, with an honest exit code and a real dry-run'
  static override description = 'Creates a velero.io/v1 Restore (not through the velero CLI), waits with progress (items restored / total) and exits 1 on anything but Completed (the velero CLI\'s --wait exits 0 on PartiallyFailed and Failed), printing Velero\'s warnings and errors per namespace; then waits for the restored Deployments, StatefulSets and DaemonSets to be ready. Refused (exit 3): a backup that is not Completed or has expired (the usable ones are listed), a target namespace that exists and is not empty (--into-existing). --dry-run reads the backup\'s tarball from Velero\'s storage location and shows each object: created, already there (skipped, or updated with --existing-resource-policy update), or excluded by Velero\'s rules, with the API server\'s server-side dry-run verdict; nothing is created. A re-run while a Restore of the same backup started by vaultctl is still running waits for that one.'
  static override examples = [
    '<%= config.bin %> restore velero --latest --include-namespaces llm-vault-prod --dry-run',
    '<%= config.bin %> restore velero --from-backup daily-20251127-0100 --include-namespaces llm-vault-prod',
    '<%= config.bin %> restore velero --from-backup daily-20251127-0100 --include-resources deployments,configmaps,secrets --namespace-mappings llm-vault-prod:llm-vault-dr',
  ]
  static override flags = {
    'from-backup': Flags.string({description: 'the Velero backup to restore from', exactlyOne: ['from-backup', 'latest']}),
    latest: Flags.boolean({description: 'the newest Completed, unexpired backup that holds the --include-namespaces'}),
    'include-namespaces': Flags.string({description: 'namespaces to restore (comma-separated or repeated; default: all in the backup)', multiple: true}),
    'include-resources': Flags.string({description: 'resources to restore, e.g. deployments,configmaps,secrets (default: all)', multiple: true}),
    'namespace-mappings': Flags.string({description: 'restore namespace SRC into DST: SRC:DST (comma-separated or repeated)', multiple: true}),
    selector: Flags.string({description: 'only objects with these labels: k=v[,k2=v2]'}),
    'existing-resource-policy': Flags.string({description: 'objects that already exist: none (skip, with a warning) or update', options: ['none', 'update']}),
    'into-existing': Flags.boolean({description: 'restore into target namespaces that exist and are not empty'}),
    name: Flags.string({description: 'the Restore\'s name (default: <backup>-<UTC time>)'}),
    timeout: durationFlag({description: 'how long to wait for the Restore', default: '4h'}),
    'workload-timeout': durationFlag({description: 'how long to wait for the restored workloads to be ready', default: '10m'}),
    'wait-workloads': Flags.boolean({description: 'wait for the restored workloads to be ready', default: true, allowNo: true}),
  }

  async run(): Promise<RestoreVeleroResult> {
    const r = this.environment()
    const f = this.flags
    const cluster = requireCluster(r.env, r.name)
    let namespaceMappings: Record<string, string>
    let selector: Record<string, string> | undefined
    try {
      namespaceMappings = parsePairs(f['namespace-mappings'] ?? [], ':', '--namespace-mappings')
      selector = f.selector ? parsePairs([f.selector], '=', '--selector') : undefined
    } catch (error) {
      throw usageError('BAD_FLAG_VALUE', (error as Error).message, ['e.g. --namespace-mappings llm-vault-prod:llm-vault-dr --selector app=api'])
    }
    const veleroNamespace = veleroNamespaceOf(r.env)
    const base = {includeNamespaces: commaList(f['include-namespaces']), includeResources: commaList(f['include-resources']), namespaceMappings, ...(selector ? {selector} : {}),
      ...(f['existing-resource-policy'] ? {existingResourcePolicy: f['existing-resource-policy'] as 'none' | 'update'} : {}), veleroNamespace}
    const kc = await veleroKube(cluster)
    const seen = await observeVeleroRestore(kc, {...base, ...(f['from-backup'] ? {backup: f['from-backup']} : {}), latest: f.latest})
    const o: VeleroRestoreOptions = {...base, backup: seen.backup.name, name: f.name ?? veleroName(seen.backup.name)}
    const plan = planVeleroRestore({name: r.name, protected: r.env.protected}, cluster, {...o, intoExisting: f['into-existing'], timeoutMs: f.timeout * 1000,
      workloadTimeoutMs: f['workload-timeout'] * 1000, waitWorkloads: f['wait-workloads']}, seen)
    const preview = f['dry-run'] ? await previewVeleroRestore(kc, o, seen.targets) : undefined
    const result = await this.runPlan(plan)
    const targets = Object.fromEntries(Object.entries(seen.targets).map(([n, c]) => [n, c ?? null]))
    if (preview) this.printPreview(preview)
    if (result.dryRun) return {dryRun: true, backup: seen.backup, restore: o.name, targets, ...(preview ? {preview} : {}), plan: result.plan}
    const outcome = stepResult<OperationResult['velero.await']>(result.execution, 'await-restore')
    const workloads = stepResult<OperationResult['kube.await-workloads']>(result.execution, 'await-workloads')
    if (outcome) {
      this.out(`Restore ${seen.resume ?? o.name}: ${outcome.phase}, ${outcome.itemsDone}/${outcome.itemsTotal} items in ${outcome.seconds.toFixed(1)} s`)
      const {formatMessages} = await import('../../lib/clients/kube-ops.js')
      for (const line of formatMessages('warnings', outcome.warnings)) this.out(line)
    }
    if (workloads?.workloads.length) this.out(table(['WORKLOAD', 'NAMESPACE', 'READY'], workloads.workloads.map((w) => [`${w.kind.toLowerCase()}/${w.name}`, w.namespace, `${w.ready}/${w.desired}`])))
    return {dryRun: false, backup: seen.backup, restore: seen.resume ?? o.name, targets, ...(outcome ? {outcome} : {}), ...(workloads ? {workloads} : {}), plan: result.plan, execution: result.execution}
  }

  private printPreview(p: RestorePreview): void {
    const verdict = (x: RestorePreview['items'][number]) => (x.dryRun ? (x.dryRun.ok ? 'ok' : `REJECTED: ${x.dryRun.message ?? ''}`) : '')
    this.out(`\nWhat the restore would do (read from the backup's tarball; server-side dry-run against the live API):`)
    this.out(table(['ACTION', 'RESOURCE', 'NAMESPACE', 'NAME', 'SERVER DRY-RUN / WHY'], p.items.map((x) => [x.action, x.resource, x.targetNamespace && x.targetNamespace !== x.namespace ? `${x.namespace} -> ${x.targetNamespace}` : x.namespace ?? '(cluster)',
      x.name, x.action === 'create' || x.action === 'update' ? verdict(x) : x.reason ?? ''])))
    this.out(`${p.counts.create} to create, ${p.counts.exists} already there (skipped), ${p.counts.update} to update, ${p.counts.excluded} excluded; ${p.counts.dryRunFailed} rejected by the API server's dry-run`)
  }
}
