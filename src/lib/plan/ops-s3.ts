// The operation of an S3 version restore and the aws CLI spelling of each key's action. Pure data:
// the executor is src/lib/clients/s3-ops.ts.
import {arnOf, createJobInput, manifestCsv, type BatchJob, type BatchReport, type CopyAction} from '../s3/batch.js'
import {copySourceOf, type VersionLock} from '../s3/versions.js'
import {shellLine, shellQuote, type S3Where} from './operations.js'

export type S3KeyAction = {kind: 'copy'; key: string; toKey: string; versionId: string; size: number; storageClass?: string; lock?: VersionLock} | {kind: 'delete'; key: string; toKey: string}

/**
 * Make each key's wanted version current (server-side copy) or delete it (a new delete marker),
 * `concurrency` at a time, with retries and backoff (the SDK's adaptive mode). No version is
 * ever deleted.
 */
export type ApplyVersions = {kind: 's3.apply-versions'; s3: S3Where; fromBucket: string; toBucket: string; actions: S3KeyAction[]; concurrency: number; multipartThreshold: number; partSize: number}

/** Write an S3 Batch Operations manifest (bucket,key,versionId per copy) as one object. */
export type PutBatchManifest = {kind: 's3.put-batch-manifest'; s3: S3Where; bucket: string; key: string; fromBucket: string; copies: CopyAction[]}

/**
 * Run the copies as one S3 Batch Operations job (S3PutObjectCopy): create it (idempotent by its
 * token; an active job of the same description is waited for instead of a second), wait for it,
 * read its completion report.
 */
export type BatchCopy = {kind: 's3.batch-copy'; s3: S3Where; control: {region: string; endpoint?: string}; job: BatchJob; pollSeconds: number; timeoutSeconds: number}

/**
 * Delete objects (or, with versionId, one version for good), a DeleteObjects request per batch of
 * at most 1,000, batch after batch (a backup's manifest goes in a batch before its data).
 */
export type DeleteObjects = {kind: 's3.delete-objects'; s3: S3Where; bucket: string; batches: {key: string; versionId?: string}[][]}

/** Write one small JSON object. */
export type PutJson = {kind: 's3.put-json'; s3: S3Where; bucket: string; key: string; body: unknown}

export type S3Operation = ApplyVersions | PutBatchManifest | BatchCopy | DeleteObjects | PutJson

export type S3OperationResult = {
  's3.apply-versions': {copied: number; deleted: number; bytes: number; seconds: number; failed: {key: string; error: string}[]}
  's3.put-batch-manifest': {rows: number; bytes: number; etag: string}
  's3.batch-copy': {jobId: string; status: string; reused: boolean; seconds: number} & BatchReport
  's3.delete-objects': {deleted: number; failed: {key: string; versionId?: string; error: string}[]}
  's3.put-json': {key: string}
}

/** The locks a copy keeps (the target bucket has Object Lock). */
const lockArgs = (l?: VersionLock) => [...(l?.legalHold ? ['--object-lock-legal-hold-status', 'ON'] : []),
  ...(l?.mode && l.until ? ['--object-lock-mode', l.mode, '--object-lock-retain-until-date', l.until] : [])]

/** A JSON argument for the shell, inside double quotes so that $VAR in it expands. */
const jsonArg = (v: unknown, vars: Record<string, string> = {}) => {
  let text = `"${JSON.stringify(v).replace(/[\\"$`]/g, (c) => `\\${c}`)}"`
  for (const [placeholder, name] of Object.entries(vars)) text = text.replace(`\\"${placeholder}\\"`, `$${name}`)
  return text
}

export function manualS3(op: S3Operation): string {
  const endpointArgs = op.s3.endpoint ? ['--endpoint-url', op.s3.endpoint] : []
  if (op.kind === 's3.delete-objects') {
    return op.batches.map((b) => shellLine(['aws', ...endpointArgs, 's3api', 'delete-objects', '--bucket', op.bucket, '--delete',
      JSON.stringify({Objects: b.map((r) => ({Key: r.key, ...(r.versionId ? {VersionId: r.versionId} : {})})), Quiet: true})])).join('\n')
  }
  if (op.kind === 's3.put-json') {
    return `printf '%s\\n' ${shellQuote(JSON.stringify(op.body))} | ${shellLine(['aws', ...endpointArgs, 's3', 'cp', '-', `s3://${op.bucket}/${op.key}`])}`
  }
  if (op.kind === 's3.put-batch-manifest') {
    return `cat > manifest.csv <<'EOF'\n${manifestCsv(op.fromBucket, op.copies)}EOF\n${shellLine(['aws', ...(op.s3.endpoint ? ['--endpoint-url', op.s3.endpoint] : []), 's3', 'cp', 'manifest.csv', `s3://${op.bucket}/${op.key}`])}`
  }
  if (op.kind === 's3.batch-copy') {
    const j = op.job
    const input = createJobInput(j, '__ETAG__') as {Operation: unknown; Manifest: unknown; Report: unknown}
    const control = ['aws', ...(op.control.endpoint ? ['--endpoint-url', op.control.endpoint] : []), '--region', op.control.region, 's3control']
    return [
      `ETAG=$(${shellLine(['aws', ...(op.s3.endpoint ? ['--endpoint-url', op.s3.endpoint] : []), 's3api', 'head-object', '--bucket', j.manifest.bucket, '--key', j.manifest.key, '--query', 'ETag', '--output', 'text'])})`,
      `JOB_ID=$(${shellLine([...control, 'create-job', '--account-id', j.accountId, '--role-arn', j.roleArn, '--priority', '10', '--no-confirmation-required',
        '--client-request-token', j.token, '--description', j.description])} --operation ${shellQuote(JSON.stringify(input.Operation))} --manifest ${jsonArg(input.Manifest, {__ETAG__: 'ETAG'})} --report ${shellQuote(JSON.stringify(input.Report))} --query JobId --output text)`,
      `${shellLine([...control, 'describe-job', '--account-id', j.accountId])} --job-id "$JOB_ID" --query Job.Status   # every ${op.pollSeconds} s until Complete; then the report under s3://${j.report.bucket}/${j.report.prefix}/job-$JOB_ID/`,
      `# the copies land in ${arnOf(j.toBucket)}${j.targetKeyPrefix ? ` under ${j.targetKeyPrefix}` : ''}`,
    ].join('\n')
  }

  const endpoint = op.s3.endpoint ? ['--endpoint-url', op.s3.endpoint] : []
  return op.actions.map((a) => (a.kind === 'copy'
    ? shellLine(['aws', ...endpoint, 's3api', a.size > op.multipartThreshold ? 'upload-part-copy' : 'copy-object', '--bucket', op.toBucket, '--key', a.toKey,
      '--copy-source', copySourceOf(op.fromBucket, a.key, a.versionId), ...(a.size > op.multipartThreshold ? ['# ... one per part, within a multipart upload'] : ['--metadata-directive', 'COPY', '--tagging-directive', 'COPY']),
      ...(a.storageClass ? ['--storage-class', a.storageClass] : []), ...lockArgs(a.lock)])
    : shellLine(['aws', ...endpoint, 's3api', 'delete-object', '--bucket', op.toBucket, '--key', a.toKey]))).join('\n')
}
