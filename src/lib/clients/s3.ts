// The S3 API through the AWS SDK (imported lazily). Works against AWS, MinIO and moto.
import type {S3Client} from '@aws-sdk/client-s3'

export type S3Conn = {endpoint?: string; region: string; forcePathStyle: boolean; accessKeyId?: string; secretAccessKey?: string}

export async function s3Client(conn: S3Conn): Promise<S3Client> {
  const {S3Client} = await import('@aws-sdk/client-s3')
  return new S3Client({
    region: conn.region,
    endpoint: conn.endpoint,
    forcePathStyle: conn.forcePathStyle,
    ...(conn.accessKeyId && conn.secretAccessKey ? {credentials: {accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey}} : {}),
    maxAttempts: 2,
  })
}

export async function bucketVersioning(client: S3Client, bucket: string): Promise<string> {
  const {GetBucketVersioningCommand} = await import('@aws-sdk/client-s3')
  const out = await client.send(new GetBucketVersioningCommand({Bucket: bucket}))
  return out.Status ?? 'Disabled'
}

/** Create the bucket if missing and turn versioning on. Idempotent. */
export async function ensureVersionedBucket(client: S3Client, bucket: string, region: string): Promise<void> {
  const {CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand} = await import('@aws-sdk/client-s3')
  try {
    await client.send(new HeadBucketCommand({Bucket: bucket}))
  } catch {
    await client.send(new CreateBucketCommand({Bucket: bucket, ...(region === 'us-east-1' ? {} : {CreateBucketConfiguration: {LocationConstraint: region as never}})}))
  }
  await client.send(new PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}))
}
