// The executor of s3.apply-versions: server-side copies and delete markers, `concurrency` at a
// time, retried with backoff by the SDK (adaptive mode: 503 SlowDown, 5xx, connection resets),
// with progress (keys/s, MB/s, ETA). A key that still fails is reported, the others go on.
import {failure} from '../errors.js'
import type {ApplyVersions, S3OperationResult} from '../plan/ops-s3.js'
import type {OperationContext} from './operations.js'
import {copyVersion, deleteKey} from './s3-versions.js'

export async function applyVersions(op: ApplyVersions, ctx: OperationContext): Promise<S3OperationResult['s3.apply-versions']> {
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
            ...(a.storageClass ? {storageClass: a.storageClass} : {}), multipartThreshold: op.multipartThreshold, partSize: op.partSize}, ctx.signal)
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
