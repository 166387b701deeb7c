import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import {requireCluster} from '../../lib/kube/cluster.js'
import {durationFlag, instantFlag, intFlag, sizeFlag} from '../../lib/flags.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {s3Conn, s3Of} from '../../lib/s3/conn.js'
import {renderRestoreJob} from '../../lib/s3/k8s-job.js'
import {inPlace, observeS3Restore, planS3Restore, type BatchEngine, type S3RestoreCounts, type S3RestoreOptions} from '../../lib/s3/restore.js'
import type {KeyAction, RestoreMode} from '../../lib/s3/versions.js'

/** What `restore s3` prints with --json: the restore (local or s3-batch), or the rendered Job. */
export type RestoreS3Output = RestoreS3Result | RestoreS3JobResult

/** --engine k8s-job: the rendered objects (the pods do the listing and the copies). */
export type RestoreS3JobResult = {engine: 'k8s-job'; shards: number; name: string; namespace: string; objects: Record<string, unknown>[]; yaml: string
  /** --submit: the plan that applied the objects and waited for the Job */
  submitted?: {dryRun: boolean; plan: PlanData; outcome?: OperationResult['kube.await-job']; execution?: ExecutionResult}}

export type RestoreS3Result = {
  engine: 'local' | 's3-batch'
  dryRun: boolean
  bucket: string
  prefix: string
  toBucket: string
  toPrefix: string
  counts: S3RestoreCounts
  actions: KeyAction[]
  plan: PlanData
  outcome?: OperationResult['s3.apply-versions']
  batch?: OperationResult['s3.batch-copy'][]
  execution?: ExecutionResult
}

export default class RestoreS3 extends BaseCommand<typeof RestoreS3> {
  static override summary = 'S3 version recovery: a prefix (or one key) exactly as it was at a time, undelete, or one version; in place or into another bucket/prefix'
  static override description = 'Per key, the wanted state is the newest version or delete marker at or before --to: a version becomes current again by a server-side copy (metadata, content type, tags and storage class kept; multipart copy above --multipart-threshold); a delete marker or nothing -> the key is deleted (a new delete marker). Keys already in the wanted state are left alone, so a re-run after an interruption converges with at most one new version per key. No version is ever deleted. Refused (exit 3): an unversioned or suspended bucket, a time older than the lifecycle rules guarantee (--force), versions in Glacier/Deep Archive.'
  static override examples = [
    '<%= config.bin %> restore s3 --bucket vault-data --prefix datasets/ --to 2026-11-27T14:30:00Z --dry-run',
    '<%= config.bin %> restore s3 --bucket vault-data --prefix datasets/ --to 2026-11-27T14:30:00Z --undelete',
    '<%= config.bin %> restore s3 --bucket vault-data --key datasets/a.json --version-id 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY',
    '<%= config.bin %> restore s3 --bucket vault-data --prefix datasets/ --to 2026-11-27T14:30:00Z --to-bucket vault-inspect --to-prefix at-1430/',
  ]
  static override flags = {
    bucket: Flags.string({description: 'the bucket (default: the environment\'s data bucket)'}),
    prefix: Flags.string({description: 'the keys under this prefix (default: the whole bucket)', exclusive: ['key']}),
    key: Flags.string({description: 'one key'}),
    to: instantFlag({description: 'the time to go back to: ISO 8601 with its UTC offset'}),
    undelete: Flags.boolean({description: 'only keys whose current state is a delete marker newer than --to', dependsOn: ['to']}),
    'version-id': Flags.string({description: 'make this version of --key current', dependsOn: ['key'], exclusive: ['to']}),
    'to-bucket': Flags.string({description: 'write the state into this bucket instead (the source is only read)'}),
    'to-prefix': Flags.string({description: 'write the state under this prefix instead'}),
    'from-bucket': Flags.string({description: 'read the history from this bucket (a replica) instead of --bucket'}),
    shard: Flags.string({description: 'only the keys of hash partition I of N (I/N, from 0): N processes together do the whole prefix', helpValue: 'I/N'}),
    concurrency: intFlag({description: 'server-side copies at a time', default: 32, min: 1, max: 512}),
    'multipart-threshold': sizeFlag({description: 'copy objects larger than this in parts (UploadPartCopy); S3 requires it above 5 GiB', default: '5GiB'}),
    'part-size': sizeFlag({description: 'part size of multipart copies', default: '512MiB'}),
    force: Flags.boolean({description: 'restore to a time older than the bucket\'s lifecycle rules guarantee'}),
    'accept-object-lock': Flags.boolean({description: 'go on despite Object Lock: copies locked by the target\'s default COMPLIANCE retention, locks not carried into a bucket without Object Lock, held current versions superseded'}),
    engine: Flags.string({description: 'who copies: this process; S3 Batch Operations (AWS: a manifest and an S3PutObjectCopy job); or a Kubernetes Indexed Job of --shards pods, each running --shard I/N (rendered as YAML)',
      options: ['local', 's3-batch', 'k8s-job'], default: 'local', exclusive: ['shard']}),
    'account-id': Flags.string({description: 's3-batch: the AWS account the job runs in (12 digits)', helpGroup: 'S3-BATCH'}),
    'batch-role': Flags.string({description: 's3-batch: the IAM role S3 Batch Operations assumes (arn:aws:iam::ACCOUNT:role/NAME)', helpGroup: 'S3-BATCH'}),
    'report-bucket': Flags.string({description: 's3-batch: the bucket for the manifest and the completion report (default: the environment\'s backups bucket)', helpGroup: 'S3-BATCH'}),
    's3-control-endpoint': Flags.string({description: 's3-batch: the S3 Control endpoint, e.g. a VPC endpoint (default: AWS\'s for the region; the account id is prefixed to its host)', helpGroup: 'S3-BATCH'}),
    'batch-timeout': durationFlag({description: 's3-batch: how long to wait for the job (it goes on without vaultctl after that)', default: '24h', helpGroup: 'S3-BATCH'}),
    shards: intFlag({description: 'k8s-job: the number of pods (hash partitions of the keys)', default: 8, min: 1, max: 10_000, helpGroup: 'K8S-JOB'}),
    image: Flags.string({description: 'k8s-job: the vaultctl container image (default: ghcr.io/llm-data-vault/vaultctl:VERSION)', helpGroup: 'K8S-JOB'}),
    'service-account': Flags.string({description: 'k8s-job: the pods\' service account (its AWS role, IRSA, reaches the buckets)', default: 'vaultctl', helpGroup: 'K8S-JOB'}),
    'credentials-secret': Flags.string({description: 'k8s-job: a Secret with access-key-id and secret-access-key, when the pods have no AWS identity of their own', helpGroup: 'K8S-JOB'}),
    deadline: durationFlag({description: 'k8s-job: the Job\'s activeDeadlineSeconds', default: '12h', helpGroup: 'K8S-JOB'}),
    submit: Flags.boolean({description: 'k8s-job: apply the objects to the environment\'s cluster (its kubernetes.kubeconfig/context) and wait for the Job, instead of printing them', helpGroup: 'K8S-JOB'}),
  }

  async run(): Promise<RestoreS3Output> {
    const r = this.environment()
    const f = this.flags
    const s3 = s3Of(r.env, r.name)
    const mode: RestoreMode | undefined = f['version-id'] ? {kind: 'version', versionId: f['version-id']} : f.to ? {kind: f.undelete ? 'undelete' : 'to', t: f.to} : undefined
    if (!mode) throw usageError('NO_TARGET', 'say what to restore: --to TIME (with --undelete for deleted keys only), or --key K --version-id V')
    const shard = f.shard ? /^(\d+)\/(\d+)$/.exec(f.shard) : undefined
    if (f.shard && (!shard || Number(shard[1]) >= Number(shard[2]) || Number(shard[2]) < 1)) throw usageError('BAD_SHARD', `--shard ${f.shard}: expected I/N with 0 <= I < N`, ['e.g. --shard 0/4'])
    const bucket = f.bucket ?? s3.buckets.data
    const o: S3RestoreOptions = {bucket, prefix: f.key ?? f.prefix ?? '', ...(f.key ? {key: f.key} : {}), mode,
      ...(f['from-bucket'] ? {fromBucket: f['from-bucket']} : {}), ...(f['to-bucket'] ? {toBucket: f['to-bucket']} : {}), ...(f['to-prefix'] !== undefined ? {toPrefix: f['to-prefix']} : {}),
      ...(shard ? {shard: {index: Number(shard[1]), count: Number(shard[2])}} : {}), concurrency: f.concurrency, multipartThreshold: f['multipart-threshold']!, partSize: f['part-size']!, force: f.force, acceptLock: f['accept-object-lock']}
    if (f.engine === 'k8s-job') return this.renderJob(o, r)
    if (f.engine === 's3-batch') o.engine = this.batchEngine(s3.buckets.backups)
    const conn = s3Conn(s3)
    const {plan, actions, counts} = planS3Restore({name: r.name, protected: r.env.protected}, conn, o, await observeS3Restore(conn, o))
    const result = await this.runPlan(plan, {secrets: {s3: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}}})
    const outcome = result.dryRun ? undefined : stepResult<OperationResult['s3.apply-versions']>(result.execution, o.engine ? 'delete-markers' : 'apply-versions')
    const batch = result.dryRun || !o.engine ? [] : plan.steps.filter((s) => s.id.startsWith('batch-copy')).flatMap((s) => stepResult<OperationResult['s3.batch-copy']>(result.execution, s.id) ?? [])
    if (!result.dryRun) {
      for (const b of batch) this.out(`S3 Batch Operations job ${b.jobId}: ${b.status}, ${b.succeeded} copied, ${b.failed} failed in ${b.seconds.toFixed(0)} s`)
      this.out(`${outcome ? `${outcome.copied} copied, ${outcome.deleted} deleted in ${outcome.seconds.toFixed(1)} s` : batch.length ? '' : 'nothing to do'}; ${counts.unchanged} key(s) already as wanted`)
    }
    return {engine: o.engine ? 's3-batch' : 'local', dryRun: result.dryRun, ...(batch.length ? {batch} : {}), bucket: o.fromBucket ?? bucket, prefix: o.prefix, toBucket: o.toBucket ?? bucket, toPrefix: o.toPrefix ?? o.prefix, counts, actions, plan: result.plan,
      ...(outcome ? {outcome} : {}), ...(result.dryRun ? {} : {execution: result.execution})}
  }

  private batchEngine(backups: string): BatchEngine {
    const f = this.flags
    const account = f['account-id']
    const role = f['batch-role']
    if (!account || !/^\d{12}$/.test(account)) throw usageError('BAD_FLAG_VALUE', `--engine s3-batch needs --account-id: the 12-digit AWS account${account ? ` (got ${JSON.stringify(account)})` : ''}`, ['e.g. --account-id 123456789012'])
    if (!role || !/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/.test(role)) throw usageError('BAD_FLAG_VALUE', `--engine s3-batch needs --batch-role: the ARN of the role S3 Batch Operations assumes${role ? ` (got ${JSON.stringify(role)})` : ''}`, ['e.g. --batch-role arn:aws:iam::123456789012:role/vault-s3-batch'])
    const endpoint = f['s3-control-endpoint']
    if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint)) throw usageError('BAD_FLAG_VALUE', `--s3-control-endpoint ${JSON.stringify(endpoint)}: expected an http(s) URL`)
    return {kind: 's3-batch', accountId: account, roleArn: role, reportBucket: f['report-bucket'] ?? backups, ...(endpoint ? {controlEndpoint: endpoint} : {}), pollSeconds: 10, timeoutSeconds: f['batch-timeout']}
  }

  /** --engine k8s-job: the ConfigMap and Indexed Job, printed as YAML (apply them with kubectl). */
  private async renderJob(o: S3RestoreOptions, r: {name: string; env: Parameters<typeof renderRestoreJob>[1]['env']}): Promise<RestoreS3JobResult> {
    const f = this.flags
    const {stringify} = await import('yaml')
    const objects = await renderRestoreJob(o, {envName: r.name, env: r.env, shards: f.shards, image: f.image ?? `ghcr.io/llm-data-vault/vaultctl:${this.config.version}`,
      serviceAccount: f['service-account'], ...(f['credentials-secret'] ? {credentialsSecret: f['credentials-secret']} : {}), deadlineSeconds: f.deadline})
    const yaml = objects.map((x) => stringify(x, {aliasDuplicateObjects: false, blockQuote: 'literal'})).join('---\n')
    const meta = objects[1]!.metadata as {name: string; namespace: string}
    if (f.submit) return {engine: 'k8s-job', shards: f.shards, name: meta.name, namespace: meta.namespace, objects, yaml, submitted: await this.submitJob(o, r, objects, meta)}
    if (!this.jsonEnabled()) this.log(yaml)
    this.note(`# ${f.shards} pods, each: vaultctl ${(((objects[1] as {spec: {template: {spec: {containers: {args: string[]}[]}}}}).spec.template.spec.containers[0]!.args)).join(' ')}\n# Apply: kubectl apply -f FILE; watch: kubectl -n ${meta.namespace} get job ${meta.name} -w`)
    return {engine: 'k8s-job', shards: f.shards, name: meta.name, namespace: meta.namespace, objects, yaml}
  }

  /** --submit: server-side apply, then wait for the Job (a plan like any other: --dry-run prints it, protected environments confirm). */
  private async submitJob(o: S3RestoreOptions, r: {name: string; env: Parameters<typeof renderRestoreJob>[1]['env']}, objects: Record<string, unknown>[], meta: {name: string; namespace: string}): Promise<NonNullable<RestoreS3JobResult['submitted']>> {
    const cluster = requireCluster(r.env, r.name, 'or leave out --submit and apply the printed YAML with kubectl')
    const writesOver = inPlace(o)
    const sa = this.flags['service-account']
    const result = await this.runPlan({command: 'restore s3', env: r.name, protected: r.env.protected, confirmOnProtected: writesOver,
      summary: `restore s3 as Kubernetes Job ${meta.namespace}/${meta.name}: ${this.flags.shards} pods, each one hash partition of s3://${o.fromBucket ?? o.bucket}/${o.key ?? o.prefix}`,
      observed: {cluster: cluster.kubeconfig, ...(cluster.context ? {context: cluster.context} : {})},
      // Without its service account the Job creates no pod at all (FailedCreate events) and would be waited for in vain.
      preconditions: [{id: 'service-account', description: `service account ${meta.namespace}/${sa} exists (the pods' identity: IRSA or the credentials Secret)`, async check() {
        const {kubeConfig, serviceAccountExists} = await import('../../lib/clients/kube.js')
        const ok = await serviceAccountExists(await kubeConfig(cluster.kubeconfig, cluster.context), meta.namespace, sa)
        return ok ? {ok, detail: 'exists'} : {ok, detail: `no service account ${sa} in namespace ${meta.namespace}`,
          suggestions: [`Create it (with its IAM role annotation, eks.amazonaws.com/role-arn, for IRSA): kubectl -n ${meta.namespace} create serviceaccount ${sa}`, 'or name another: --service-account NAME']}
      }}],
      steps: [
        {id: 'apply-job', title: `apply ConfigMap and Job ${meta.namespace}/${meta.name} (server-side)`, risk: writesOver ? 'destructive' : 'write', op: {kind: 'kube.apply', cluster, objects}},
        {id: 'await-job', title: `wait for the Job's ${this.flags.shards} shards`, risk: 'read', op: {kind: 'kube.await-job', cluster, namespace: meta.namespace, name: meta.name, timeoutMs: this.flags.deadline * 1000}},
      ],
      recovery: 'The Job goes on in the cluster; re-running the same command re-applies the same Job (same name) and waits again; each shard is resumable.'})
    const outcome = result.dryRun ? undefined : stepResult<OperationResult['kube.await-job']>(result.execution, 'await-job')
    if (outcome) this.out(`Job ${meta.namespace}/${meta.name}: ${outcome.succeeded}/${outcome.completions} shards done in ${outcome.seconds.toFixed(0)} s`)
    return {dryRun: result.dryRun, plan: result.plan, ...(outcome ? {outcome} : {}), ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
