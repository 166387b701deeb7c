// The S3 API through the AWS SDK (imported lazily). Works against AWS, MinIO and moto.
import type {S3Client} from '@aws-sdk/client-s3'
export type {S3Client}

export type S3Conn = {endpoint?: string; region: string; forcePathStyle: boolean; accessKeyId?: string; secretAccessKey?: string; caFile?: string; insecureSkipVerify?: boolean}

/** The environment's S3 CA (one per run; operations carry only endpoint and region). */
let s3Tls: Pick<S3Conn, 'caFile' | 'insecureSkipVerify'> = {}
export function setS3Tls(t: Pick<S3Conn, 'caFile' | 'insecureSkipVerify'>): void {
  s3Tls = t
}

export async function s3Client(conn: S3Conn, retry: {maxAttempts: number; retryMode?: 'standard' | 'adaptive'} = {maxAttempts: 2}): Promise<S3Client> {
  const {S3Client} = await import('@aws-sdk/client-s3')
  let requestHandler: {httpsAgent: unknown} | undefined
  conn = {...s3Tls, ...conn}
  if (conn.caFile || conn.insecureSkipVerify) {
    const {Agent} = await import('node:https')
    const {readPem} = await import('./files.js')
    requestHandler = {httpsAgent: new Agent({keepAlive: true, rejectUnauthorized: !conn.insecureSkipVerify, ...(conn.caFile ? {ca: readPem(conn.caFile)} : {})})}
  }
  return new S3Client({
    ...(requestHandler ? {requestHandler: requestHandler as never} : {}),
    region: conn.region,
    endpoint: conn.endpoint,
    forcePathStyle: conn.forcePathStyle,
    ...(conn.accessKeyId && conn.secretAccessKey ? {credentials: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}} : {}),
    maxAttempts: retry.maxAttempts,
    ...(retry.retryMode ? {retryMode: retry.retryMode} : {}),
    // Checksums only where S3 requires them: vaultctl checksums WAL and backups itself (SHA-256
    // in metadata and manifests), and a CRC over every 16 MiB segment in JS costs per segment.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

export async function bucketVersioning(client: S3Client, bucket: string): Promise<string> {
  const {GetBucketVersioningCommand} = await import('@aws-sdk/client-s3')
  const out = await client.send(new GetBucketVersioningCommand({Bucket: bucket}))
  return out.Status ?? 'Disabled'
}

/** Create the bucket if missing and turn versioning on (and Object Lock with a default retention,
 *  when asked and the bucket is new). Idempotent. */
export async function ensureVersionedBucket(client: S3Client, bucket: string, region: string, objectLock?: {mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number}): Promise<void> {
  const {CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand} = await import('@aws-sdk/client-s3')
  try {
    await client.send(new HeadBucketCommand({Bucket: bucket}))
  } catch (error) {
    // Only a missing bucket is created: a refusal (403), a wrong region (301) or a server that
    // does not answer is the error to show, not a reason to try CreateBucket.
    const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
    if (!(e.name === 'NotFound' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404)) throw error
    await client.send(new CreateBucketCommand({Bucket: bucket, ...(objectLock ? {ObjectLockEnabledForBucket: true} : {}),
      ...(region === 'us-east-1' ? {} : {CreateBucketConfiguration: {LocationConstraint: region as never}})}))
  }
  await client.send(new PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}))
  if (objectLock) {
    const {PutObjectLockConfigurationCommand} = await import('@aws-sdk/client-s3')
    const {objectLockOf} = await import('./audit-s3.js')
    // A bucket created before without Object Lock keeps going without it (it cannot be added on every server).
    if ((await objectLockOf(client, bucket)).enabled) {
      await client.send(new PutObjectLockConfigurationCommand({Bucket: bucket, ChecksumAlgorithm: 'CRC32',
        ObjectLockConfiguration: {ObjectLockEnabled: 'Enabled', Rule: {DefaultRetention: {Mode: objectLock.mode, Days: objectLock.days}}}}))
    }
  }
}

export type ObjectHead = {size: number; metadata: Record<string, string>; lastModified?: Date; etag?: string}

/** HEAD an object; undefined when it does not exist. */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<ObjectHead | undefined> {
  const {HeadObjectCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await client.send(new HeadObjectCommand({Bucket: bucket, Key: key}))
    return {size: r.ContentLength ?? 0, metadata: r.Metadata ?? {}, lastModified: r.LastModified, ...(r.ETag ? {etag: r.ETag} : {})}
  } catch (error) {
    const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined
    throw error
  }
}

export async function putObject(client: S3Client, bucket: string, key: string, body: Uint8Array | string, metadata: Record<string, string> = {}): Promise<void> {
  const {PutObjectCommand} = await import('@aws-sdk/client-s3')
  await client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: body, Metadata: metadata}))
}

/**
 * PUT only if the key does not exist yet (If-None-Match: *): 'written', or 'exists' when another
 * writer got there first. A server without conditional writes (501 NotImplemented) gets a plain
 * PUT: 'written-unconditionally' (the caller checked with HEAD just before).
 */
export async function putObjectIfAbsent(client: S3Client, bucket: string, key: string, body: Uint8Array | string, metadata: Record<string, string> = {}): Promise<'written' | 'exists' | 'written-unconditionally'> {
  const {PutObjectCommand} = await import('@aws-sdk/client-s3')
  try {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: body, Metadata: metadata, IfNoneMatch: '*'}))
    return 'written'
  } catch (error) {
    const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
    // 412: it exists; 409: a concurrent conditional write is in flight (AWS): it will exist
    if (e.$metadata?.httpStatusCode === 412 || e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 409) return 'exists'
    if (e.$metadata?.httpStatusCode === 501 || e.name === 'NotImplemented') {
      await client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: body, Metadata: metadata}))
      return 'written-unconditionally'
    }
    throw error
  }
}

export async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<{body: Uint8Array; metadata: Record<string, string>} | undefined> {
  const {GetObjectCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await client.send(new GetObjectCommand({Bucket: bucket, Key: key}))
    return {body: await r.Body!.transformToByteArray(), metadata: r.Metadata ?? {}}
  } catch (error) {
    const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
    if (e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return undefined
    throw error
  }
}

export async function getObjectStream(client: S3Client, bucket: string, key: string): Promise<{stream: NodeJS.ReadableStream; size: number; metadata: Record<string, string>}> {
  const {GetObjectCommand} = await import('@aws-sdk/client-s3')
  const r = await client.send(new GetObjectCommand({Bucket: bucket, Key: key}))
  return {stream: r.Body as NodeJS.ReadableStream, size: r.ContentLength ?? 0, metadata: r.Metadata ?? {}}
}

export type ListedObject = {key: string; size: number; lastModified?: Date}

export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const {paginateListObjectsV2} = await import('@aws-sdk/client-s3')
  const out: ListedObject[] = []
  for await (const page of paginateListObjectsV2({client}, {Bucket: bucket, Prefix: prefix})) {
    for (const o of page.Contents ?? []) out.push({key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified})
  }
  return out
}

/** Multipart upload from a stream (no local copy); returns when S3 has the whole object. */
/**
 * A multipart upload of a stream of unknown length, `queueSize` parts in flight. S3 allows 10,000
 * parts: 32 MiB parts hold 312 GiB, 64 MiB parts 625 GiB.
 */
export async function uploadStream(client: S3Client, bucket: string, key: string, body: NodeJS.ReadableStream, metadata: Record<string, string> = {},
  o: {partSize?: number; queueSize?: number} = {}): Promise<void> {
  const {Upload} = await import('@aws-sdk/lib-storage')
  await new Upload({client, params: {Bucket: bucket, Key: key, Body: body as never, Metadata: metadata}, queueSize: o.queueSize ?? 4, partSize: o.partSize ?? 32 * 1024 * 1024}).done()
}

export async function deleteObject(client: S3Client, bucket: string, key: string): Promise<void> {
  const {DeleteObjectCommand} = await import('@aws-sdk/client-s3')
  await client.send(new DeleteObjectCommand({Bucket: bucket, Key: key}))
}
