// The lab's PostgreSQL archives WAL through `vaultctl wal push` into the lab's S3, using a WAL
// runtime (clients/wal-runtime.ts, written by clients/lab-files.ts) under the PostgreSQL root,
// where the postgres user can read it.
import {join} from 'node:path'
import type {LabLayout} from './layout.js'
import {shellQuote} from '../shell.js'

export const archiveDir = (l: LabLayout) => join(l.pgRoot, 'vaultctl')

/** True when the lab archives to its S3 (else to a local directory, with `--only postgres`). */
export const archivesToS3 = (l: LabLayout) => l.components.includes('s3')

export function archiveCommand(l: LabLayout, localDir: string): string {
  const q = shellQuote
  if (!archivesToS3(l)) return `test ! -f ${q(`${localDir}/%f`)} && cp %p ${q(`${localDir}/%f`)}`
  const d = archiveDir(l)
  return `${q(`${d}/node`)} ${q(`${d}/wal.mjs`)} push %p --config ${q(`${d}/wal.yaml`)} --env wal`
}
