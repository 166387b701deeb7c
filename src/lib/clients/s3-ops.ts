// The executor of s3.apply-versions: server-side copies and delete markers, `concurrency` at a
// time, retried with backoff by the SDK (adaptive mode: 503 SlowDown, 5xx, connection resets),
// with progress (keys/s, MB/s, ETA). A key that still fails is reported, the others go on.
import {failure} from '../errors.js'
import type {ApplyVersions, BatchCopy, DeleteObjects, PutBatchManifest, S3Operation, S3OperationResult} from '../plan/ops-s3.js'
import {createJobInput, manifestCsv, readReport} from '../s3/batch.js'
import {waitUntil} from '../wait.js'
import type {OperationContext} from './operations.js'
import {copyVersion, deleteKey} from './s3-versions.js'

async function applyVersions(op: ApplyVersions, ctx: OperationContext): Promise<S3OperationResult['s3.apply-versions']> {
  const {s3Client} = await import('./s3.js')
  const client = await s3Client({...op.s3, ...ctx.secrets.s3}, {maxAttempts: 8, retryMode: 'adaptive'})
  const t0 = Date.now()
  const total = op.actions.reduce((n, a) => n + (a.kind === 'copy' ? a.size : 0), 0)
  const result: S3OperationResult['s3.apply-versions'] = {copied: 0, deleted: 0, bytes: 0, seconds: 0, failed: []}
  let next = 0
  const progress = () => {
    const done = result.copied + result.deleted + result.failed.length
    const s = (Date.now() - t0) / 1000
    const rate = done / Math.max(s, 0.001)
    ctx.note(`${done}/${op.actions.length} keys, ${rate.toFixed(0)} keys/s, ${(result.bytes / 1048576 / Math.max(s, 0.001)).toFixed(1)} MB/s of ${(total / 1048576).toFixed(0)} MB, ETA ${((op.actions.length - done) / Math.max(rate, 0.001)).toFixed(0)} s`)
  }
  const worker = async () => {
    while (next < op.actions.length && !ctx.signal.aborted) {
      const a = op.actions[next++]!
      try {
        if (a.kind === 'copy') {
          await copyVersion(client, {fromBucket: op.fromBucket, key: a.key, versionId: a.versionId, toBucket: op.toBucket, toKey: a.toKey, size: a.size,
            ...(a.storageClass ? {storageClass: a.storageClass} : {}), ...(a.lock ? {lock: a.lock} : {}), multipartThreshold: op.multipartThreshold, partSize: op.partSize}, ctx.signal)
          result.copied++
          result.bytes += a.size
        } else {
          await deleteKey(client, op.toBucket, a.toKey, ctx.signal)
          result.deleted++
        }
      } catch (error) {
        if (ctx.signal.aborted) return
        result.failed.push({key: a.key, error: (error as Error).message})
      }
      progress()
    }
  }
  try {
    await Promise.all(Array.from({length: Math.min(op.concurrency, op.actions.length)}, worker))
  } finally {
    client.destroy()
  }
  result.seconds = (Date.now() - t0) / 1000
  if (ctx.signal.aborted) throw failure('INTERRUPTED', `interrupted after ${result.copied + result.deleted} of ${op.actions.length} keys`, ['Re-run the same command: keys already in their wanted state are left alone.'])
  if (result.failed.length) {
    throw failure('S3_RESTORE_INCOMPLETE', `${result.failed.length} of ${op.actions.length} keys failed: ${result.failed.slice(0, 5).map((f) => `${f.key}: ${f.error}`).join('; ')}`,
      ['Re-run the same command: it converges (keys already restored are left alone).'], undefined, {result})
  }
  return result
}

export async function runS3Operation(op: S3Operation, ctx: OperationContext): Promise<S3OperationResult[S3Operation['kind']]> {
  switch (op.kind) {
    case 's3.apply-versions':
      return applyVersions(op, ctx)
    case 's3.put-batch-manifest':
      return putBatchManifest(op, ctx)
    case 's3.batch-copy':
      return batchCopy(op, ctx)
    case 's3.delete-objects':
      return deleteObjects(op, ctx)
    case 's3.put-json': {
      const {s3Client, putObject} = await import('./s3.js')
      const client = await s3Client({...op.s3, ...ctx.secrets.s3}, {maxAttempts: 8, retryMode: 'adaptive'})
      try {
        await putObject(client, op.bucket, op.key, JSON.stringify(op.body, null, 2) + '\n')
        return {key: op.key}
      } finally {
        client.destroy()
      }
    }
  }
}

/** Batch after batch; a key S3 refuses (Object Lock, access) is reported and the step fails after its batch. */
async function deleteObjects(op: DeleteObjects, ctx: OperationContext): Promise<S3OperationResult['s3.delete-objects']> {
  const {s3Client} = await import('./s3.js')
  const {deleteBatch} = await import('./s3-versions.js')
  const client = await s3Client({...op.s3, ...ctx.secrets.s3}, {maxAttempts: 8, retryMode: 'adaptive'})
  const result: S3OperationResult['s3.delete-objects'] = {deleted: 0, failed: []}
  const total = op.batches.reduce((n, b) => n + b.length, 0)
  try {
    for (const batch of op.batches) {
      if (ctx.signal.aborted) throw new Error('interrupted')
      const r = await deleteBatch(client, op.bucket, batch, ctx.signal)
      result.deleted += r.deleted
      result.failed.push(...r.failed)
      ctx.note(`${result.deleted} of ${total} deleted`)
      if (result.failed.length) {
        throw failure('S3_DELETE_FAILED', `${result.failed.length} object(s) of s3://${op.bucket} were not deleted, e.g. ${result.failed[0]!.key}: ${result.failed[0]!.error}`,
          ['Object Lock retention or a bucket policy refuses deletes: the objects stay; re-run after the retention ends, or without --delete-versions.'])
      }
    }
    return result
  } finally {
    client.destroy()
  }
}

async function putBatchManifest(op: PutBatchManifest, ctx: OperationContext): Promise<S3OperationResult['s3.put-batch-manifest']> {
  const {s3Client} = await import('./s3.js')
  const {PutObjectCommand} = await import('@aws-sdk/client-s3')
  const client = await s3Client({...op.s3, ...ctx.secrets.s3}, {maxAttempts: 8, retryMode: 'adaptive'})
  try {
    const csv = manifestCsv(op.fromBucket, op.copies)
    const r = await client.send(new PutObjectCommand({Bucket: op.bucket, Key: op.key, Body: csv, ContentType: 'text/csv'}), {abortSignal: ctx.signal})
    return {rows: op.copies.length, bytes: Buffer.byteLength(csv), etag: r.ETag ?? ''}
  } finally {
    client.destroy()
  }
}

const FINISHED = new Set(['Complete', 'Failed', 'Cancelled'])

async function batchCopy(op: BatchCopy, ctx: OperationContext): Promise<S3OperationResult['s3.batch-copy']> {
  const {s3Client, headObject, getObjectBytes} = await import('./s3.js')
  const {s3ControlClient, activeJobs, createJob, describeJob} = await import('./s3-control.js')
  const t0 = Date.now()
  const s3 = await s3Client({...op.s3, ...ctx.secrets.s3}, {maxAttempts: 8, retryMode: 'adaptive'})
  const control = await s3ControlClient({...op.control, ...ctx.secrets.s3})
  const j = op.job
  try {
    const head = await headObject(s3, j.manifest.bucket, j.manifest.key)
    if (!head?.etag) throw failure('S3_BATCH_MANIFEST', `the manifest s3://${j.manifest.bucket}/${j.manifest.key} is not there`, ['Re-run the same command: the manifest step writes it again.'])
    // A job of an interrupted run into the same place is waited for, never doubled: two jobs
    // copying the same keys would give a key two new versions.
    const running = await activeJobs(control, j.accountId, j.scope)
    const same = running.find((r) => r.description === j.description)
    if (running.length && !same) {
      throw failure('S3_BATCH_BUSY', `an earlier vaultctl job into the same place is still ${running[0]!.status} (${running[0]!.id})`,
        [`Wait for it (aws s3control describe-job --account-id ${j.accountId} --job-id ${running[0]!.id}), then re-run: the plan then holds only what is left.`])
    }
    const jobId = same?.id ?? await createJob(control, createJobInput(j, head.etag))
    ctx.note(`job ${jobId}${same ? ' (already running: waited for, not created again)' : ' created'}`)
    const state = await waitUntil({what: `S3 Batch Operations job ${jobId}`, timeoutMs: op.timeoutSeconds * 1000, intervalMs: op.pollSeconds * 1000, maxIntervalMs: op.pollSeconds * 1000, signal: ctx.signal,
      code: 'S3_BATCH_TIMEOUT', suggestions: [`It goes on without vaultctl: aws s3control describe-job --account-id ${j.accountId} --job-id ${jobId}; re-run the same command afterwards to see what is left.`],
      onStatus: (s) => ctx.note(s)}, async () => {
      const s = await describeJob(control, j.accountId, jobId)
      return FINISHED.has(s.status) ? {done: true, value: s} : {done: false, status: `${s.status}: ${s.succeeded + s.failed}/${s.total} tasks, ${s.failed} failed`}
    })
    const reportKey = `${j.report.prefix}/job-${jobId}/manifest.json`
    const report = await getObjectBytes(s3, j.report.bucket, reportKey)
    const results = report ? ((JSON.parse(Buffer.from(report.body).toString('utf8')) as {Results?: {Key: string}[]}).Results ?? []) : []
    const files = await Promise.all(results.map(async (r) => Buffer.from((await getObjectBytes(s3, j.report.bucket, r.Key))?.body ?? new Uint8Array()).toString('utf8')))
    const summary = readReport(files)
    const result = {jobId, status: state.status, reused: Boolean(same), seconds: (Date.now() - t0) / 1000, ...summary}
    if (state.status !== 'Complete' || summary.failed) {
      throw failure('S3_RESTORE_INCOMPLETE', `S3 Batch Operations job ${jobId} ended ${state.status}${state.reason ? ` (${state.reason})` : ''}: ${summary.succeeded} copied, ${summary.failed} failed${summary.failures.length ? `: ${summary.failures.slice(0, 5).map((f) => `${f.key}: ${f.code} ${f.message}`).join('; ')}` : ''}`,
        ['Re-run the same command: the plan then holds only the keys not yet restored.', `The full report: s3://${j.report.bucket}/${j.report.prefix}/job-${jobId}/`], undefined, {result})
    }
    return result
  } finally {
    s3.destroy()
    control.destroy()
  }
}
