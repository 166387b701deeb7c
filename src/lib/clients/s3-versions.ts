// Object versions through @aws-sdk/client-s3: the full version listing (its paginator), lifecycle
// rules, server-side copies of one version (CopyObject, or UploadPartCopy above the multipart
// threshold), delete markers. Works against AWS, MinIO and moto.
import type {S3Client} from '@aws-sdk/client-s3'
import {copySourceOf as copySource, type BucketLock, type LifecycleRule, type VersionEntry, type VersionLock} from '../s3/versions.js'

/**
 * The pages of ListObjectVersions. The SDK generates no paginator for it (its continuation is two
 * values, KeyMarker + VersionIdMarker, which Smithy pagination cannot express; AWS declined to
 * hand-write one: aws/aws-sdk-js-v3#6226), so this is the one hand-written page loop.
 *
 * The response interleaves <Version> and <DeleteMarker> in history order, newest first; the SDK
 * splits them into two arrays and the order is lost. LastModified cannot restore it: S3 and moto
 * list whole seconds, so a put and a delete in the same second tie. A middleware reads the raw
 * body first (handing the SDK the same bytes) and records each entry's position.
 */
async function* versionPages(client: S3Client, bucket: string, prefix: string, pageSize: number) {
  const {ListObjectVersionsCommand} = await import('@aws-sdk/client-s3')
  let markers: {KeyMarker?: string; VersionIdMarker?: string} = {}
  for (;;) {
    const cmd = new ListObjectVersionsCommand({Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, ...markers})
    let order: string[] = []
    cmd.middlewareStack.add((next) => async (args) => {
      const out = await next(args)
      const res = out.response as {body?: unknown}
      const chunks: Buffer[] = []
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk))
      const raw = Buffer.concat(chunks)
      res.body = raw
      order = listingOrder(raw.toString('utf8'))
      return out
    }, {step: 'deserialize', priority: 'low', name: 'vaultctlListingOrder'})
    const page = await client.send(cmd)
    yield {page, order}
    if (!page.IsTruncated) return
    markers = {KeyMarker: page.NextKeyMarker, ...(page.NextVersionIdMarker ? {VersionIdMarker: page.NextVersionIdMarker} : {})}
  }
}

const unxml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
  .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d))).replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(parseInt(h, 16))).replace(/&amp;/g, '&')

/** "key\0versionId" of each <Version>/<DeleteMarker>, in the order the response lists them. */
export function listingOrder(xml: string): string[] {
  return [...xml.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)].map((m) => {
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(m[2]!)?.[1] ?? ''
    const id = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(m[2]!)?.[1] ?? 'null'
    return `${unxml(key)}\0${unxml(id)}`
  })
}

/** Every version and delete marker under a prefix (all pages), each with its position in the listing. */
export async function listVersions(client: S3Client, bucket: string, prefix: string, pageSize = 1000): Promise<VersionEntry[]> {
  const out: VersionEntry[] = []
  let base = 0
  for await (const {page, order} of versionPages(client, bucket, prefix, pageSize)) {
    const position = new Map(order.map((k, i) => [k, base + i]))
    base += order.length
    const seq = (key: string, id: string) => {
      const n = position.get(`${key}\0${id}`)
      return n === undefined ? {} : {seq: n}
    }
    for (const v of page.Versions ?? []) {
      out.push({key: v.Key!, versionId: v.VersionId ?? 'null', deleteMarker: false, isLatest: Boolean(v.IsLatest), lastModified: (v.LastModified ?? new Date(0)).toISOString(),
        size: v.Size ?? 0, ...(v.ETag ? {etag: v.ETag} : {}), ...(v.StorageClass ? {storageClass: String(v.StorageClass)} : {}), ...seq(v.Key!, v.VersionId ?? 'null')})
    }
    for (const m of page.DeleteMarkers ?? []) {
      out.push({key: m.Key!, versionId: m.VersionId ?? 'null', deleteMarker: true, isLatest: Boolean(m.IsLatest), lastModified: (m.LastModified ?? new Date(0)).toISOString(),
        ...seq(m.Key!, m.VersionId ?? 'null')})
    }
  }
  return out
}

export async function lifecycleRules(client: S3Client, bucket: string): Promise<LifecycleRule[]> {
  const {GetBucketLifecycleConfigurationCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await client.send(new GetBucketLifecycleConfigurationCommand({Bucket: bucket}))
    return (r.Rules ?? []).map((x, i) => ({id: x.ID ?? `rule-${i + 1}`, enabled: x.Status === 'Enabled', prefix: x.Filter?.Prefix ?? x.Prefix ?? x.Filter?.And?.Prefix ?? '',
      ...(x.NoncurrentVersionExpiration?.NoncurrentDays !== undefined ? {noncurrentDays: x.NoncurrentVersionExpiration.NoncurrentDays} : {}),
      ...(x.Expiration?.ExpiredObjectDeleteMarker ? {expiredDeleteMarkers: true} : {}), ...(x.Expiration?.Days !== undefined ? {currentDays: x.Expiration.Days} : {})}))
  } catch (error) {
    if (/NoSuchLifecycleConfiguration/.test((error as {name?: string}).name ?? '') || (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode === 404) return []
    throw error
  }
}


/** A bucket's Object Lock configuration (disabled when it has none). */
export async function bucketLock(client: S3Client, bucket: string): Promise<BucketLock> {
  const {GetObjectLockConfigurationCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await client.send(new GetObjectLockConfigurationCommand({Bucket: bucket}))
    const c = r.ObjectLockConfiguration
    const d = c?.Rule?.DefaultRetention
    return {enabled: c?.ObjectLockEnabled === 'Enabled', ...(d?.Mode ? {defaultRetention: {mode: d.Mode, days: d.Days ?? (d.Years ?? 0) * 365}} : {})}
  } catch (error) {
    const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
    if (/ObjectLockConfigurationNotFound|NoSuchObjectLockConfiguration/.test(e.name ?? '') || e.$metadata?.httpStatusCode === 404) return {enabled: false}
    throw error
  }
}

/** One version's legal hold and retention (undefined: neither). */
export async function versionLock(client: S3Client, bucket: string, key: string, versionId: string): Promise<VersionLock | undefined> {
  const {HeadObjectCommand} = await import('@aws-sdk/client-s3')
  const h = await client.send(new HeadObjectCommand({Bucket: bucket, Key: key, VersionId: versionId}))
  const l: VersionLock = {...(h.ObjectLockLegalHoldStatus === 'ON' ? {legalHold: true} : {}),
    ...(h.ObjectLockMode && h.ObjectLockRetainUntilDate ? {mode: h.ObjectLockMode, until: h.ObjectLockRetainUntilDate.toISOString()} : {})}
  return Object.keys(l).length ? l : undefined
}

/** The lock headers of a copy that keeps its source's locks. */
const lockHeaders = (l?: VersionLock) => ({...(l?.legalHold ? {ObjectLockLegalHoldStatus: 'ON' as const} : {}),
  ...(l?.mode && l.until ? {ObjectLockMode: l.mode, ObjectLockRetainUntilDate: new Date(l.until)} : {})})

/**
 * A write that sets Object Lock must carry Content-MD5 or a checksum (S3's rule for uploads; moto
 * applies it to copies as well): a copy's body is empty, and the MD5 of nothing satisfies it on
 * every server.
 */
function withEmptyBodyMd5(cmd: {middlewareStack: {add: (mw: never, o: {step: 'build'; name: string}) => void}}): void {
  const mw = (next: (a: {request: {headers: Record<string, string>}}) => Promise<unknown>) => (args: {request: {headers: Record<string, string>}}) => {
    args.request.headers['content-md5'] = '1B2M2Y8AsgTpgAmY3PhCJg=='
    return next(args)
  }
  cmd.middlewareStack.add(mw as never, {step: 'build', name: 'vaultctlObjectLockMd5'})
}

export type CopyVersion = {fromBucket: string; key: string; versionId: string; toBucket: string; toKey: string; size: number; storageClass?: string; multipartThreshold: number; partSize: number; lock?: VersionLock}

/**
 * Make `versionId` the current content of toBucket/toKey, server-side. Metadata, content type and
 * tags come along (COPY directives); the storage class is kept. Above the threshold: a multipart
 * upload of UploadPartCopy ranges, with the source's metadata, tags and headers set explicitly.
 */
export async function copyVersion(client: S3Client, c: CopyVersion, signal?: AbortSignal): Promise<void> {
  const s3 = await import('@aws-sdk/client-s3')
  const source = copySource(c.fromBucket, c.key, c.versionId)
  if (c.size <= c.multipartThreshold) {
    const cmd = new s3.CopyObjectCommand({Bucket: c.toBucket, Key: c.toKey, CopySource: source, MetadataDirective: 'COPY', TaggingDirective: 'COPY',
      ...(c.storageClass ? {StorageClass: c.storageClass as never} : {}), ...lockHeaders(c.lock)})
    if (c.lock) withEmptyBodyMd5(cmd)
    await client.send(cmd, {abortSignal: signal})
    return
  }
  const head = await client.send(new s3.HeadObjectCommand({Bucket: c.fromBucket, Key: c.key, VersionId: c.versionId}))
  const tags = await client.send(new s3.GetObjectTaggingCommand({Bucket: c.fromBucket, Key: c.key, VersionId: c.versionId})).catch(() => ({TagSet: []}))
  const tagging = (tags.TagSet ?? []).map((t) => `${encodeURIComponent(t.Key!)}=${encodeURIComponent(t.Value ?? '')}`).join('&')
  const {UploadId} = await client.send(new s3.CreateMultipartUploadCommand({Bucket: c.toBucket, Key: c.toKey, Metadata: {...head.Metadata, 'vaultctl-source-version': c.versionId},
    ...(head.ContentType ? {ContentType: head.ContentType} : {}), ...(head.ContentEncoding ? {ContentEncoding: head.ContentEncoding} : {}),
    ...(head.ContentDisposition ? {ContentDisposition: head.ContentDisposition} : {}), ...(head.CacheControl ? {CacheControl: head.CacheControl} : {}),
    ...(head.ServerSideEncryption ? {ServerSideEncryption: head.ServerSideEncryption} : {}), ...(head.SSEKMSKeyId ? {SSEKMSKeyId: head.SSEKMSKeyId} : {}),
    ...(c.storageClass ? {StorageClass: c.storageClass as never} : {}), ...(tagging ? {Tagging: tagging} : {}), ...lockHeaders(c.lock)}), {abortSignal: signal})
  try {
    const parts: {ETag: string; PartNumber: number}[] = []
    for (let start = 0, n = 1; start < c.size; start += c.partSize, n++) {
      const end = Math.min(c.size, start + c.partSize) - 1
      const r = await client.send(new s3.UploadPartCopyCommand({Bucket: c.toBucket, Key: c.toKey, UploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${start}-${end}`}), {abortSignal: signal})
      parts.push({ETag: r.CopyPartResult!.ETag!, PartNumber: n})
    }
    await client.send(new s3.CompleteMultipartUploadCommand({Bucket: c.toBucket, Key: c.toKey, UploadId, MultipartUpload: {Parts: parts}}), {abortSignal: signal})
  } catch (error) {
    await client.send(new s3.AbortMultipartUploadCommand({Bucket: c.toBucket, Key: c.toKey, UploadId})).catch(() => undefined)
    throw error
  }
}

/** The version id a multipart restore copied from (kept in its metadata), or undefined. */
export async function restoredFrom(client: S3Client, bucket: string, key: string, versionId: string): Promise<string | undefined> {
  const {HeadObjectCommand} = await import('@aws-sdk/client-s3')
  const h = await client.send(new HeadObjectCommand({Bucket: bucket, Key: key, VersionId: versionId})).catch(() => undefined)
  return h?.Metadata?.['vaultctl-source-version']
}

/** A new delete marker on the key (its versions stay). */
export async function deleteKey(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<void> {
  const {DeleteObjectCommand} = await import('@aws-sdk/client-s3')
  await client.send(new DeleteObjectCommand({Bucket: bucket, Key: key}), {abortSignal: signal})
}

/** One DeleteObjects request (at most 1,000 keys): what S3 deleted and what it refused, per key. */
export async function deleteBatch(client: S3Client, bucket: string, refs: {key: string; versionId?: string}[], signal?: AbortSignal): Promise<{deleted: number; failed: {key: string; versionId?: string; error: string}[]}> {
  const {DeleteObjectsCommand} = await import('@aws-sdk/client-s3')
  const r = await client.send(new DeleteObjectsCommand({Bucket: bucket, Delete: {Objects: refs.map((x) => ({Key: x.key, ...(x.versionId ? {VersionId: x.versionId} : {})})), Quiet: true}}), {abortSignal: signal})
  const failed = (r.Errors ?? []).map((e) => ({key: e.Key ?? '?', ...(e.VersionId ? {versionId: e.VersionId} : {}), error: `${e.Code ?? 'error'}: ${e.Message ?? ''}`.trim()}))
  return {deleted: refs.length - failed.length, failed}
}
