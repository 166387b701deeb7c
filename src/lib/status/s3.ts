// Each configured bucket's versioning: the vault's S3 recovery depends on it (architecture 8.1).
import {bucketVersioning, s3Client} from '../clients/s3.js'
import type {Environment} from '../config/schema.js'
import {errorMessage} from '../errors.js'
import {s3Conn} from '../s3/conn.js'
import type {StatusRow} from './types.js'

export async function s3Status(env: Environment): Promise<StatusRow[]> {
  if (!env.s3) return []
  const client = await s3Client(s3Conn(env.s3))
  try {
    return await Promise.all(Object.entries(env.s3.buckets).map(async ([role, bucket]): Promise<StatusRow> => {
      try {
        const v = await bucketVersioning(client, bucket)
        const rating = v === 'Enabled' ? 'ok' : v === 'Suspended' ? 'warn' : 'crit'
        return {component: 's3', name: bucket, role, state: `versioning ${v}`, rating,
          detail: rating === 'ok' ? 'versioning on: deleted and overwritten objects are recoverable' : 'versioning is not on: overwritten or deleted objects cannot be recovered',
          facts: {versioning: v}}
      } catch (error) {
        const e = error as Error & {name?: string}
        return {component: 's3', name: bucket, role, state: e.name === 'NoSuchBucket' ? 'missing' : 'unreachable', rating: 'crit', detail: errorMessage(error)}
      }
    }))
  } finally {
    client.destroy()
  }
}
