// The lab's PostgreSQL archives WAL through `vaultctl wal push` into the lab's S3, using a WAL
// runtime (see backup/runtime.ts) under the PostgreSQL root, where the postgres user can read it.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeWalRuntime} from '../clients/wal-runtime.js'
import {LAB_BUCKETS, PG_MEMBERS, type LabLayout} from './layout.js'

export const archiveDir = (l: LabLayout) => join(l.pgRoot, 'vaultctl')

/** True when the lab archives to its S3 (else to a local directory, with `--only postgres`). */
export const archivesToS3 = (l: LabLayout) => l.components.includes('s3')

export function archiveCommand(l: LabLayout, localDir: string): string {
  if (!archivesToS3(l)) return `test ! -f ${localDir}/%f && cp %p ${localDir}/%f`
  const d = archiveDir(l)
  return `${d}/node ${d}/wal.mjs push %p --config ${d}/wal.yaml --env wal`
}

export function prepareArchiving(l: LabLayout, secretFile: (name: string) => string, patroniUrl: (i: number) => string, region: string): void {
  if (!archivesToS3(l)) return
  writeWalRuntime(archiveDir(l), {
    cluster: l.cluster,
    endpoints: PG_MEMBERS.map(patroniUrl),
    backup: {bucket: LAB_BUCKETS.backups, prefix: 'postgres/'},
    s3: {endpoint: `http://127.0.0.1:${l.ports.s3}`, region, forcePathStyle: true,
      accessKeyId: readFileSync(secretFile('s3-access-key'), 'utf8').trim(), secretAccessKey: readFileSync(secretFile('s3-secret-key'), 'utf8').trim()},
  })
}
