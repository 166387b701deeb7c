// `restore s3 --engine s3-batch`: the copies handed to S3 Batch Operations (S3PutObjectCopy over a
// CSV manifest of bucket,key,versionId, with a completion report), for millions of keys or many TB.
// Pure: the manifest text, the CreateJob request and the reading of the completion report; the
// calls are in src/lib/clients/s3-control.ts. Delete markers are not a Batch operation: those keys
// are deleted by the local executor in the same plan (no data moves for them).
import {createHash} from 'node:crypto'
import type {S3KeyAction} from '../plan/ops-s3.js'

export type CopyAction = Extract<S3KeyAction, {kind: 'copy'}>

/** S3 Batch Operations' manifest: one `bucket,key,versionId` line per copy, keys URL-encoded (AWS requires it). */
export function manifestCsv(fromBucket: string, copies: CopyAction[]): string {
  return copies.map((a) => `${fromBucket},${encodeURIComponent(a.key)},${a.versionId}\n`).join('')
}

export const arnOf = (bucket: string, key?: string) => `arn:aws:s3:::${bucket}${key === undefined ? '' : `/${key}`}`

export type BatchJob = {
  accountId: string
  roleArn: string
  fromBucket: string
  toBucket: string
  /** S3PutObjectCopy's TargetKeyPrefix: prepended to each key */
  targetKeyPrefix?: string
  storageClass?: string
  manifest: {bucket: string; key: string}
  report: {bucket: string; prefix: string}
  /** idempotency: CreateJob with the same token returns the same job */
  token: string
  /** the job's description starts with this: where it writes (an active job with the same scope is never doubled) */
  scope: string
  description: string
}

/** A token from the manifest's content and where it goes: the same plan re-run creates no second job. */
export const batchToken = (csv: string, toBucket: string, targetKeyPrefix = '', storageClass = '') =>
  createHash('sha256').update(`${toBucket}\0${targetKeyPrefix}\0${storageClass}\0${csv}`).digest('hex').slice(0, 64)

/** The CreateJob input (S3 Control), given the manifest object's ETag. */
export function createJobInput(j: BatchJob, manifestEtag: string): Record<string, unknown> {
  return {
    AccountId: j.accountId, RoleArn: j.roleArn, ConfirmationRequired: false, Priority: 10, ClientRequestToken: j.token, Description: j.description.slice(0, 256),
    Operation: {S3PutObjectCopy: {TargetResource: arnOf(j.toBucket), MetadataDirective: 'COPY',
      ...(j.targetKeyPrefix ? {TargetKeyPrefix: j.targetKeyPrefix} : {}), ...(j.storageClass ? {StorageClass: j.storageClass} : {})}},
    Manifest: {Spec: {Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId']}, Location: {ObjectArn: arnOf(j.manifest.bucket, j.manifest.key), ETag: manifestEtag}},
    Report: {Enabled: true, Bucket: arnOf(j.report.bucket), Prefix: j.report.prefix, Format: 'Report_CSV_20180820', ReportScope: 'AllTasks'},
  }
}

/** The fields of one CSV line (RFC 4180: quoted fields may hold commas and doubled quotes). */
export function csvFields(line: string): string[] {
  const out: string[] = []
  let i = 0
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = ''
      i++
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') { v += '"'; i += 2 } else if (line[i] === '"') { i++; break } else v += line[i++]
      }
      out.push(v)
      i++ // the comma
    } else {
      const end = line.indexOf(',', i)
      out.push(line.slice(i, end === -1 ? line.length : end))
      i = end === -1 ? line.length + 1 : end + 1
    }
  }
  return out
}

export type BatchReport = {succeeded: number; failed: number; failures: {key: string; versionId: string; code: string; message: string}[]}

/** A completion report's result files (Report_CSV_20180820: bucket, key, versionId, status, error code, HTTP status, message). */
export function readReport(files: string[]): BatchReport {
  const r: BatchReport = {succeeded: 0, failed: 0, failures: []}
  for (const text of files) {
    for (const line of text.split(/\r?\n/)) {
      if (!line.trim()) continue
      const [, key = '', versionId = '', status = '', code = '', , message = ''] = csvFields(line)
      if (status === 'succeeded') r.succeeded++
      else {
        r.failed++
        r.failures.push({key: decodeURIComponent(key), versionId, code, message})
      }
    }
  }
  return r
}
