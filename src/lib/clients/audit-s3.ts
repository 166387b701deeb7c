// Audit records in S3 (the architecture's vault-audit bucket): one object per record, written
// once (If-None-Match: *), with the bucket's Object Lock retention when it has one (S3 applies
// a default retention itself; `retention` asks for one explicitly).
import type {S3Client} from './s3.js'

export type AuditRetention = {mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number}

export async function putAuditObject(client: S3Client, bucket: string, key: string, body: string, retention?: AuditRetention): Promise<'written' | 'exists'> {
  const {PutObjectCommand} = await import('@aws-sdk/client-s3')
  try {
    await client.send(new PutObjectCommand({
      Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*',
      // A bucket with Object Lock refuses a PUT without a checksum.
      ChecksumAlgorithm: 'CRC32',
      ...(retention ? {ObjectLockMode: retention.mode, ObjectLockRetainUntilDate: new Date(Date.now() + retention.days * 86_400_000)} : {}),
    }))
    return 'written'
  } catch (error) {
    const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
    if (e.$metadata?.httpStatusCode === 412 || e.name === 'PreconditionFailed') return 'exists'
    throw error
  }
}

/** Keys under a prefix, in order. */
export async function listAuditKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const {paginateListObjectsV2} = await import('@aws-sdk/client-s3')
  const keys: string[] = []
  for await (const page of paginateListObjectsV2({client}, {Bucket: bucket, Prefix: prefix})) for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key)
  return keys.sort()
}

export async function getAuditObject(client: S3Client, bucket: string, key: string): Promise<string> {
  const {GetObjectCommand} = await import('@aws-sdk/client-s3')
  const r = await client.send(new GetObjectCommand({Bucket: bucket, Key: key}))
  return (await r.Body?.transformToString('utf8')) ?? ''
}

/** The bucket's Object Lock default retention, if any ('none' when Object Lock is off). */
export async function objectLockOf(client: S3Client, bucket: string): Promise<{enabled: boolean; mode?: string; days?: number}> {
  const {GetObjectLockConfigurationCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await client.send(new GetObjectLockConfigurationCommand({Bucket: bucket}))
    const rule = r.ObjectLockConfiguration?.Rule?.DefaultRetention
    return {enabled: r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled', ...(rule?.Mode ? {mode: rule.Mode} : {}), ...(rule?.Days ? {days: rule.Days} : {})}
  } catch (error) {
    const e = error as {name?: string}
    if (e.name === 'ObjectLockConfigurationNotFoundError') return {enabled: false}
    throw error
  }
}

/** The retention of one object (to show that S3 holds the record locked). */
export async function objectRetention(client: S3Client, bucket: string, key: string): Promise<{mode?: string; until?: string}> {
  const {GetObjectRetentionCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await client.send(new GetObjectRetentionCommand({Bucket: bucket, Key: key}))
    return {...(r.Retention?.Mode ? {mode: r.Retention.Mode} : {}), ...(r.Retention?.RetainUntilDate ? {until: r.Retention.RetainUntilDate.toISOString()} : {})}
  } catch (error) {
    const e = error as {name?: string}
    if (e.name === 'NoSuchObjectLockConfiguration' || e.name === 'InvalidRequest') return {}
    throw error
  }
}
