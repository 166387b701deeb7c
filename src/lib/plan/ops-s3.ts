// The operation of an S3 version restore and the aws CLI spelling of each key's action. Pure data:
// the executor is src/lib/clients/s3-ops.ts.
import {copySourceOf} from '../s3/versions.js'
import {shellLine, type S3Where} from './operations.js'

export type S3KeyAction = {kind: 'copy'; key: string; toKey: string; versionId: string; size: number; storageClass?: string} | {kind: 'delete'; key: string; toKey: string}

/**
 * Make each key's wanted version current (server-side copy) or delete it (a new delete marker),
 * `concurrency` at a time, with retries and backoff (the SDK's adaptive mode). No version is
 * ever deleted.
 */
export type ApplyVersions = {kind: 's3.apply-versions'; s3: S3Where; fromBucket: string; toBucket: string; actions: S3KeyAction[]; concurrency: number; multipartThreshold: number; partSize: number}

export type S3OperationResult = {
  's3.apply-versions': {copied: number; deleted: number; bytes: number; seconds: number; failed: {key: string; error: string}[]}
}

export function manualS3(op: ApplyVersions): string {
  const endpoint = op.s3.endpoint ? ['--endpoint-url', op.s3.endpoint] : []
  return op.actions.map((a) => (a.kind === 'copy'
    ? shellLine(['aws', ...endpoint, 's3api', a.size > op.multipartThreshold ? 'upload-part-copy' : 'copy-object', '--bucket', op.toBucket, '--key', a.toKey,
      '--copy-source', copySourceOf(op.fromBucket, a.key, a.versionId), ...(a.size > op.multipartThreshold ? ['# ... one per part, within a multipart upload'] : ['--metadata-directive', 'COPY', '--tagging-directive', 'COPY']),
      ...(a.storageClass ? ['--storage-class', a.storageClass] : [])])
    : shellLine(['aws', ...endpoint, 's3api', 'delete-object', '--bucket', op.toBucket, '--key', a.toKey]))).join('\n')
}
