import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import {instantFlag, intFlag, sizeFlag} from '../../lib/flags.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {s3Conn, s3Of} from '../../lib/s3/conn.js'
import {observeS3Restore, planS3Restore, type S3RestoreCounts, type S3RestoreOptions} from '../../lib/s3/restore.js'
import type {KeyAction, RestoreMode} from '../../lib/s3/versions.js'

export type RestoreS3Result = {
  dryRun: boolean
  bucket: string
  prefix: string
  toBucket: string
  toPrefix: string
  counts: S3RestoreCounts
  actions: KeyAction[]
  plan: PlanData
  outcome?: OperationResult['s3.apply-versions']
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
  }

  async run(): Promise<RestoreS3Result> {
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
      ...(shard ? {shard: {index: Number(shard[1]), count: Number(shard[2])}} : {}), concurrency: f.concurrency, multipartThreshold: f['multipart-threshold']!, partSize: f['part-size']!, force: f.force}
    const conn = s3Conn(s3)
    const {plan, actions, counts} = planS3Restore({name: r.name, protected: r.env.protected}, conn, o, await observeS3Restore(conn, o))
    const result = await this.runPlan(plan, {secrets: {s3: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}}})
    const outcome = result.dryRun ? undefined : stepResult<OperationResult['s3.apply-versions']>(result.execution, 'apply-versions')
    if (!result.dryRun) this.out(`${outcome ? `${outcome.copied} copied, ${outcome.deleted} deleted in ${outcome.seconds.toFixed(1)} s` : 'nothing to do'}; ${counts.unchanged} key(s) already as wanted`)
    return {dryRun: result.dryRun, bucket: o.fromBucket ?? bucket, prefix: o.prefix, toBucket: o.toBucket ?? bucket, toPrefix: o.toPrefix ?? o.prefix, counts, actions, plan: result.plan,
      ...(outcome ? {outcome} : {}), ...(result.dryRun ? {} : {execution: result.execution})}
  }
}
