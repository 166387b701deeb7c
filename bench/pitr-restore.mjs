// Point-in-time restore of a ~1 GB database: `vaultctl restore pitr --latest` (base backup and WAL
// from S3, through vaultctl wal fetch) against the same procedure by hand with shell commands
// (tar -x of a local copy of the same base.tar, restore_command = 'cp ARCHIVE/%f %p'), alternating.
// Target: vaultctl's time at most 1.15x the hand procedure's.
// Needs a lab (default: a MinIO lab made by this script in /tmp/vaultctl-bench-lab, ports 18000+).
// Usage: scripts/with-node node bench/pitr-restore.mjs [runs] [size-GB]
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, chownSync} from 'node:fs'
import {join} from 'node:path'
import {createWriteStream} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import {fileURLToPath} from 'node:url'
import pg from 'pg'
import {S3Client, GetObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'

const runs = Number(process.argv[2] ?? 3)
const sizeGb = Number(process.argv[3] ?? 1)
const labDir = process.env.VAULTCTL_BENCH_LAB ?? '/tmp/vaultctl-bench-lab'
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const env = {...process.env, VAULTCTL_LAB_DIR: labDir, NO_COLOR: '1', VAULTCTL_AUDIT_FILE: '/tmp/vaultctl-bench-audit.jsonl'}
const vaultctl = (args, opts = {}) => String(execFileSync(process.execPath, [bin, ...args], {env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts}) ?? '')
const PGBIN = '/usr/lib/postgresql/15/bin'
const pgUser = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:')).split(':')
const asPg = process.getuid() === 0 ? {uid: Number(pgUser[2]), gid: Number(pgUser[3])} : {}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

vaultctl(['lab', 'up', '--dir', labDir, '--base-port', '18000', '--s3', 'minio', '--only', 'postgres,s3'], {stdio: 'inherit'})
const lab = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'))
const password = readFileSync(join(labDir, 'secrets/postgres-superuser'), 'utf8').trim()
// status exits 1 while a row is not ok yet (a replica just starting): only the leader's port is needed here
const cluster = JSON.parse(String(spawnSync(process.execPath, [bin, 'status', '--component', 'postgres', '--json'], {env, maxBuffer: 64 << 20}).stdout)).components[0].rows
const leader = cluster.find((r) => r.role === 'leader').facts
const q = async (port, sql) => {
  const c = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres'})
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}

// ~size GB of data, once
const have = Number((await q(leader.port, "select coalesce(pg_database_size('postgres'), 0) as s"))[0].s)
if (have < sizeGb * 0.9e9) {
  console.error(`loading ~${sizeGb} GB (have ${(have / 1e9).toFixed(2)} GB)...`)
  await q(leader.port, 'create table if not exists bench_blob(id bigint, payload text)')
  const rows = Math.ceil(((sizeGb * 1e9 - have) / 150) / 1e6)
  for (let i = 0; i < rows; i++) await q(leader.port, `insert into bench_blob select g, md5(g::text) || repeat('x', 80) from generate_series(1, 1000000) g`)
}
console.error('base backup...')
const manifest = JSON.parse(vaultctl(['backup', 'create', '--json'])).manifest
await q(leader.port, `insert into bench_blob select g, 'after-backup' from generate_series(1, 200000) g`)
await q(leader.port, 'select pg_switch_wal()')
await sleep(3000)

// The hand procedure's inputs: a local copy of the same base.tar and of the archived WAL.
const local = '/tmp/vaultctl-bench-local' // the postgres user must read it
rmSync(local, {recursive: true, force: true})
mkdirSync(join(local, 'wal'), {recursive: true})
const s3 = new S3Client({region: 'us-east-1', endpoint: `http://127.0.0.1:${lab.ports.s3}`, forcePathStyle: true,
  credentials: {accessKeyId: readFileSync(join(labDir, 'secrets/s3-access-key'), 'utf8').trim(), secretAccessKey: readFileSync(join(labDir, 'secrets/s3-secret-key'), 'utf8').trim()}})
const download = async (key, dest) => pipeline((await s3.send(new GetObjectCommand({Bucket: 'vault-backups', Key: key}))).Body, createWriteStream(dest))
await download(manifest.key, join(local, 'base.tar'))
let token
do {
  const r = await s3.send(new ListObjectsV2Command({Bucket: 'vault-backups', Prefix: 'postgres/vault-lab/wal/', ContinuationToken: token}))
  for (const o of r.Contents ?? []) await download(o.Key, join(local, 'wal', o.Key.split('/').pop()))
  token = r.IsTruncated ? r.NextContinuationToken : undefined
} while (token)
spawnSync('chown', ['-R', 'postgres:postgres', local])

async function waitPromoted(port, t0) {
  for (;;) {
    try {
      if (!(await q(port, 'select pg_is_in_recovery() as r'))[0].r) return performance.now() - t0
    } catch {
      // starting
    }
    await sleep(100)
  }
}

/**
 * The restore by hand: `extract` fills the new data directory with the base backup (a shell
 * command run as postgres), `restoreCommand` fetches WAL; settings, start, wait until promoted.
 */
async function byHandWith(dir, port, extract, restoreCommand) {
  rmSync(dir, {recursive: true, force: true})
  const t0 = performance.now()
  mkdirSync(dir, {mode: 0o700})
  if (asPg.uid !== undefined) chownSync(dir, asPg.uid, asPg.gid)
  spawnSync('sh', ['-c', extract], {...asPg, stdio: 'inherit'})
  for (const f of ['standby.signal', 'postmaster.pid']) rmSync(join(dir, f), {force: true})
  appendFileSync(join(dir, 'postgresql.auto.conf'), `restore_command = '${restoreCommand.replaceAll("'", "''")}'\nrecovery_target_action = 'promote'\nrecovery_target_timeline = 'latest'\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\narchive_mode = 'off'\nprimary_conninfo = ''\nprimary_slot_name = ''\nhba_file = '${dir}/pg_hba.conf'\nident_file = '${dir}/pg_ident.conf'\n`)
  writeFileSync(join(dir, 'recovery.signal'), '')
  spawnSync('chown', ['postgres:postgres', join(dir, 'postgresql.auto.conf'), join(dir, 'recovery.signal')])
  spawnSync(`${PGBIN}/pg_ctl`, ['-D', dir, '-l', `${dir}.log`, 'start'], {...asPg, stdio: 'ignore'})
  const ms = await waitPromoted(port, t0)
  spawnSync(`${PGBIN}/pg_ctl`, ['-D', dir, '-m', 'immediate', 'stop'], {...asPg, stdio: 'ignore'})
  rmSync(dir, {recursive: true, force: true})
  return ms
}

const byHand = (i) => byHandWith(join(local, `hand-${i}`), 18555, `tar -x -f ${join(local, 'base.tar')} -C ${join(local, `hand-${i}`)}`, `cp ${local}/wal/%f %p`)

// The same by hand, but from S3 as the architecture's runbook does it (curl signs the requests:
// no AWS CLI here): curl | tar -x for the base backup, curl as restore_command.
const s3Url = `http://127.0.0.1:${lab.ports.s3}/vault-backups`
const curl = `curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user '${readFileSync(join(labDir, 'secrets/s3-access-key'), 'utf8').trim()}:${readFileSync(join(labDir, 'secrets/s3-secret-key'), 'utf8').trim()}'`
const byHandS3 = (i) => byHandWith(join(local, `hand-s3-${i}`), 18558, `${curl} '${s3Url}/${manifest.key}' | tar -x -C ${join(local, `hand-s3-${i}`)}`,
  `${curl} -o %p '${s3Url}/postgres/vault-lab/wal/%f'`)

function withVaultctl() {
  const t0 = performance.now()
  const out = JSON.parse(vaultctl(['restore', 'pitr', '--latest', '--port', '18556', '--json']))
  const ms = performance.now() - t0
  spawnSync(`${PGBIN}/pg_ctl`, ['-D', out.dataDir, '-m', 'immediate', 'stop'], {...asPg, stdio: 'ignore'})
  rmSync(out.dataDir, {recursive: true, force: true})
  rmSync(`${out.dataDir}.log`, {force: true})
  return ms
}

const hand = []
const handS3 = []
const vc = []
for (let i = 0; i < runs; i++) {
  vc.push(withVaultctl())
  hand.push(await byHand(i))
  handS3.push(await byHandS3(i))
  console.error(`run ${i + 1}: vaultctl ${(vc.at(-1) / 1000).toFixed(2)} s, by hand ${(hand.at(-1) / 1000).toFixed(2)} s, by hand from S3 ${(handS3.at(-1) / 1000).toFixed(2)} s`)
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`${new Date().toISOString()}: ${runs} alternating runs, base backup ${(manifest.bytes / 1e9).toFixed(2)} GB, S3 = MinIO`)
console.log('| procedure | median s |')
console.log('|---|---|')
console.log(`| by hand: tar -x local base.tar + cp restore_command | ${(median(hand) / 1000).toFixed(2)} |`)
console.log(`| by hand from S3: curl --aws-sigv4 | tar -x + curl restore_command | ${(median(handS3) / 1000).toFixed(2)} |`)
console.log(`| vaultctl restore pitr --latest (S3 + wal fetch, verified) | ${(median(vc) / 1000).toFixed(2)} |`)
console.log(`ratio against by hand from S3: ${(median(vc) / median(handS3)).toFixed(2)} (informative)`)
const ratio = median(vc) / median(hand)
console.log(`ratio ${ratio.toFixed(2)} -> ${ratio <= 1.15 ? 'PASS' : 'FAIL'} (target <= 1.15)`)
if (!existsSync(local)) process.exitCode = 1
