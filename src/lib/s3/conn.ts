// The S3 connection of an environment, with credentials read from their references.
import type {S3Conn} from '../clients/s3.js'
import type {Environment} from '../config/schema.js'
import type {S3Where} from '../plan/operations.js'
import {resolveSecret} from '../config/secrets.js'
import {usageError} from '../errors.js'

/** An environment's s3 section, or exit 2 saying it needs one. */
export function s3Of(env: Environment, name: string): NonNullable<Environment['s3']> {
  if (!env.s3) throw usageError('NO_S3', `environment ${name} has no s3 section`, ['Add s3: {endpoint, region, buckets} to its config.'])
  return env.s3
}

/** Where an operation reaches S3, as a plan carries it: no credentials (the executor resolves them). */
export const s3Where = (conn: Pick<S3Conn, 'endpoint' | 'region' | 'forcePathStyle'>): S3Where =>
  ({...(conn.endpoint ? {endpoint: conn.endpoint} : {}), region: conn.region, forcePathStyle: conn.forcePathStyle})

export function s3Conn(s3: NonNullable<Environment['s3']>): S3Conn {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    ...(s3.caFile ? {caFile: s3.caFile} : {}),
    ...(s3.insecureSkipVerify ? {insecureSkipVerify: true} : {}),
    ...(s3.accessKeyIdFrom ? {accessKeyId: resolveSecret(s3.accessKeyIdFrom, 's3.accessKeyIdFrom')} : {}),
    ...(s3.secretAccessKeyFrom ? {secretAccessKey: resolveSecret(s3.secretAccessKeyFrom, 's3.secretAccessKeyFrom')} : {}),
  }
}
