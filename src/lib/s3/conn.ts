// The S3 connection of an environment, with credentials read from their references.
import type {S3Conn} from '../clients/s3.js'
import type {Environment} from '../config/schema.js'
import {resolveSecret} from '../config/secrets.js'

export function s3Conn(s3: NonNullable<Environment['s3']>): S3Conn {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    ...(s3.accessKeyIdFrom ? {accessKeyId: resolveSecret(s3.accessKeyIdFrom, 's3.accessKeyIdFrom')} : {}),
    ...(s3.secretAccessKeyFrom ? {secretAccessKey: resolveSecret(s3.secretAccessKeyFrom, 's3.secretAccessKeyFrom')} : {}),
  }
}
