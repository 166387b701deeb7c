// What a backup location costs: its bucket's versioning and lifecycle rules, and the versions
// (noncurrent ones and delete markers) under the cluster's prefix.
import {bucketVersioning, s3Client, type S3Conn} from '../clients/s3.js'
import {lifecycleRules, listVersions} from '../clients/s3-versions.js'
import type {LifecycleRule, VersionEntry} from '../s3/versions.js'
import {clusterPrefix, type BackupLocation} from './layout.js'

export type VersionsSeen = {versioning: string; rules: LifecycleRule[]; versions?: VersionEntry[]}

export async function observeVersions(conn: S3Conn, loc: BackupLocation): Promise<VersionsSeen> {
  const client = await s3Client(conn)
  try {
    const [versioning, rules] = await Promise.all([bucketVersioning(client, loc.bucket), lifecycleRules(client, loc.bucket).catch(() => [])])
    if (versioning !== 'Enabled' && versioning !== 'Suspended') return {versioning, rules}
    return {versioning, rules, versions: await listVersions(client, loc.bucket, clusterPrefix(loc))}
  } finally {
    client.destroy()
  }
}

/** How deletes under the location turn into freed storage, in one sentence. */
export function versioningNote(s: VersionsSeen, loc: BackupLocation): string {
  const prefix = clusterPrefix(loc)
  if (s.versioning !== 'Enabled' && s.versioning !== 'Suspended') return `Bucket ${loc.bucket} is not versioned: a deleted object is gone and its storage freed at once.`
  const rule = s.rules.find((r) => r.enabled && r.noncurrentDays !== undefined && prefix.startsWith(r.prefix))
  if (rule) return `Bucket ${loc.bucket} is versioned: a delete leaves a noncurrent version, which lifecycle rule "${rule.id}" (prefix "${rule.prefix}") expires after ${rule.noncurrentDays} day(s); until then it still costs storage (and can be recovered).`
  return `Bucket ${loc.bucket} is versioned and no lifecycle rule expires noncurrent versions under "${prefix}": what prune deletes stays as noncurrent versions and keeps costing storage. Add a NoncurrentVersionExpiration rule (aws s3api put-bucket-lifecycle-configuration), or prune with --delete-versions.`
}
