// The lab's PostgreSQL archives WAL through `vaultctl wal push` into the lab's S3. PostgreSQL runs
// as the postgres user, which cannot read root's home (where node and the checkout may live), so
// the bundled entry point, a node binary (hard-linked, no copy, when on the same file system) and
// an archive-only config with its own copy of the S3 secrets are placed under the PostgreSQL root.
import {copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {stringify} from 'yaml'
import {LAB_BUCKETS, PG_MEMBERS, type LabLayout} from './layout.js'

export const archiveDir = (l: LabLayout) => join(l.pgRoot, 'vaultctl')
const bundle = () => fileURLToPath(new URL('../../wal.mjs', import.meta.url))

/** True when the lab archives to its S3 (else to a local directory, with `--only postgres`). */
export const archivesToS3 = (l: LabLayout) => l.components.includes('s3')

export function archiveCommand(l: LabLayout, localDir: string): string {
  if (!archivesToS3(l)) return `test ! -f ${localDir}/%f && cp %p ${localDir}/%f`
  const d = archiveDir(l)
  return `${d}/node ${d}/wal.mjs push %p --config ${d}/archive.yaml --env lab`
}

export function restoreCommand(l: LabLayout): string {
  const d = archiveDir(l)
  return `${d}/node ${d}/wal.mjs fetch %f %p --config ${d}/archive.yaml --env lab`
}

function placeFile(src: string, dest: string): void {
  if (existsSync(dest) && statSync(dest).ino === statSync(src).ino) return
  rmSync(dest, {force: true})
  try {
    linkSync(src, dest)
  } catch {
    copyFileSync(src, dest)
  }
}

export function prepareArchiving(l: LabLayout, secretFile: (name: string) => string, patroniUrl: (i: number) => string, region: string): void {
  if (!archivesToS3(l)) return
  const d = archiveDir(l)
  mkdirSync(join(d, 'secrets'), {recursive: true, mode: 0o700})
  placeFile(process.execPath, join(d, 'node'))
  // The bundle is copied (not linked): a rebuild replaces dist/, the lab keeps a consistent copy.
  copyFileSync(bundle(), join(d, 'wal.mjs'))
  for (const s of ['s3-access-key', 's3-secret-key']) writeFileSync(join(d, 'secrets', s), readFileSync(secretFile(s)), {mode: 0o600})
  writeFileSync(join(d, 'archive.yaml'), stringify({
    apiVersion: 'vaultctl/v1',
    environments: {lab: {
      postgres: {kind: 'patroni', cluster: l.cluster, endpoints: PG_MEMBERS.map(patroniUrl), backup: {bucket: LAB_BUCKETS.backups, prefix: 'postgres/'}},
      s3: {endpoint: `http://127.0.0.1:${l.ports.s3}`, region, forcePathStyle: true, buckets: {...LAB_BUCKETS},
        accessKeyIdFrom: {file: join(d, 'secrets', 's3-access-key')}, secretAccessKeyFrom: {file: join(d, 'secrets', 's3-secret-key')}},
    }},
  }))
}
