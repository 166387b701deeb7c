// A self-contained `vaultctl wal` for a PostgreSQL server to run as archive_command or
// restore_command: the bundled entry point, a node binary (hard-linked when possible) and a
// config with only the backup location, S3 endpoint and its own copies of the S3 secrets (mode
// 600). It lives where the server's OS user can read it (root's home is not such a place).
import {chownSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {stringify} from 'yaml'
import {writePrivate} from './files.js'
import {walRuntimeCommand} from '../restore/settings.js'

export type WalRuntimeConfig = {
  cluster: string
  endpoints: string[]
  backup: {bucket: string; prefix: string}
  s3: {endpoint?: string; region: string; forcePathStyle: boolean; accessKeyId?: string; secretAccessKey?: string}
}

const bundle = () => fileURLToPath(new URL('../../wal.mjs', import.meta.url))

function placeNode(dest: string): void {
  if (existsSync(dest) && statSync(dest).ino === statSync(process.execPath).ino) return
  rmSync(dest, {force: true})
  try {
    linkSync(process.execPath, dest)
  } catch {
    copyFileSync(process.execPath, dest)
  }
}

/** Writes the runtime into dir; returns the command prefix (`NODE wal.mjs`) and its --config/--env suffix. */
export function writeWalRuntime(dir: string, cfg: WalRuntimeConfig, owner?: {uid: number; gid: number}): {prefix: string; suffix: string} {
  mkdirSync(join(dir, 'secrets'), {recursive: true, mode: 0o700})
  placeNode(join(dir, 'node'))
  // Copied, not linked: a rebuild replaces dist/, the server keeps a consistent copy. A two-line
  // launcher turns on Node's compile cache (in the runtime dir) before the bundle is compiled.
  copyFileSync(bundle(), join(dir, 'wal-bundle.mjs'))
  mkdirSync(join(dir, 'compile-cache'), {recursive: true})
  writeFileSync(join(dir, 'wal.mjs'), `import module from 'node:module'\nmodule.enableCompileCache?.(${JSON.stringify(join(dir, 'compile-cache'))})\nawait import('./wal-bundle.mjs')\n`)
  const secret = (name: string, value?: string) => {
    if (value === undefined) return undefined
    writePrivate(join(dir, 'secrets', name), value)
    return {file: join(dir, 'secrets', name)}
  }
  const accessKeyIdFrom = secret('s3-access-key', cfg.s3.accessKeyId)
  const secretAccessKeyFrom = secret('s3-secret-key', cfg.s3.secretAccessKey)
  writePrivate(join(dir, 'wal.yaml'), stringify({
    apiVersion: 'vaultctl/v1',
    environments: {wal: {
      postgres: {kind: 'patroni', cluster: cfg.cluster, endpoints: cfg.endpoints, backup: cfg.backup},
      s3: {...(cfg.s3.endpoint ? {endpoint: cfg.s3.endpoint} : {}), region: cfg.s3.region, forcePathStyle: cfg.s3.forcePathStyle,
        buckets: {data: cfg.backup.bucket, backups: cfg.backup.bucket, audit: cfg.backup.bucket},
        ...(accessKeyIdFrom ? {accessKeyIdFrom} : {}), ...(secretAccessKeyFrom ? {secretAccessKeyFrom} : {})},
    }},
  }))
  if (owner) {
    for (const p of [dir, join(dir, 'secrets'), join(dir, 'compile-cache'), join(dir, 'wal.mjs'), join(dir, 'wal-bundle.mjs'), join(dir, 'wal.yaml'), ...readdirSync(join(dir, 'secrets')).map((f) => join(dir, 'secrets', f))]) chownSync(p, owner.uid, owner.gid)
  }
  return walRuntimeCommand(dir)
}
