// Backup and restore against the peer, pgBackRest (Debian's 2.45), in the same run, on the same
// ~1 GB database and the same MinIO: full backup time, stored size, and point-in-time restore to
// a writable instance (end of the archive), for compression none / lz4 / zstd.
//
// pgBackRest's S3 repository must be HTTPS: the bench serves the lab's MinIO through a TLS proxy
// (a child node process, certificate from the lab's CA), and points vaultctl at the same proxy, so
// both tools pay the same TLS. pgBackRest archives WAL too: the lab's archive_command gets
// `&& pgbackrest archive-push` for the duration of the bench (through Patroni's /config), and
// gets its own back at the end.
//
// Fairness notes, printed with the results: pgBackRest backs up the primary (its default; vaultctl a
// replica), with process-max 2 (vaultctl: zstd workers 2 on the server); vaultctl's tar includes the
// WAL of the backup (pg_basebackup -X fetch), pgBackRest's set does not (archive-copy=n).
//
// Needs a lab (default: /tmp/vaultctl-bench-lab, ports 18000+, made here with --only postgres,s3).
// Usage: scripts/with-node node bench/backup-peers.mjs [runs] [size-GB]
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import pg from 'pg'
import {parse, stringify} from 'yaml'
import {S3Client, CreateBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand} from '@aws-sdk/client-s3'

const runs = Number(process.argv[2] ?? 3)
const sizeGb = Number(process.argv[3] ?? 1)
const labDir = process.env.VAULTCTL_BENCH_LAB ?? '/tmp/vaultctl-bench-lab'
const work = '/tmp/vaultctl-bench-peers'
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const PGBIN = '/usr/lib/postgresql/15/bin'
const PROXY_PORT = 18943
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pgUser = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:')).split(':')
const asPg = process.getuid() === 0 ? {uid: Number(pgUser[2]), gid: Number(pgUser[3])} : {}
const labEnv = {...process.env, VAULTCTL_LAB_DIR: labDir, NO_COLOR: '1', VAULTCTL_AUDIT_FILE: `${work}/audit.jsonl`}
const run = (cmd, args, o = {}) => {
  const r = spawnSync(cmd, args, {encoding: 'utf8', maxBuffer: 256 << 20, ...o})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(-2000)}`)
  return r.stdout
}

rmSync(work, {recursive: true, force: true})
mkdirSync(`${work}/pgbr`, {recursive: true})
run(process.execPath, [bin, 'lab', 'up', '--dir', labDir, '--base-port', '18000', '--s3', 'minio', '--only', 'postgres,s3'], {env: labEnv, stdio: 'inherit'})
const lab = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'))
const secret = (n) => readFileSync(join(labDir, 'secrets', n), 'utf8').trim()
const ca = join(labDir, 'tls', 'ca.crt')
const password = secret('postgres-superuser')
const q = async (port, sql) => {
  const c = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', ssl: {ca: readFileSync(ca, 'utf8'), rejectUnauthorized: false}})
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}
const leaderPort = lab.ports['postgres-1']
if ((await q(leaderPort, 'select pg_is_in_recovery() as r'))[0].r) throw new Error('pg-1 is not the leader: run the bench on a fresh lab (lab down --purge, then again)')

// ~size GB, once
const have = Number((await q(leaderPort, "select pg_database_size('postgres') as s"))[0].s)
if (have < sizeGb * 0.9e9) {
  console.error(`loading ~${sizeGb} GB (have ${(have / 1e9).toFixed(2)} GB)...`)
  await q(leaderPort, 'create table if not exists bench_blob(id bigint, payload text)')
  const rows = Math.ceil(((sizeGb * 1e9 - have) / 150) / 1e6)
  for (let i = 0; i < rows; i++) await q(leaderPort, `insert into bench_blob select g, md5(g::text) || repeat('x', 80) from generate_series(1, 1000000) g`)
}
const dbBytes = Number((await q(leaderPort, "select pg_database_size('postgres') as s"))[0].s)

// --- TLS in front of MinIO (a child process: this one blocks in spawnSync) ---
run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${work}/proxy.key`, '-out', `${work}/proxy.csr`, '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
run('openssl', ['x509', '-req', '-in', `${work}/proxy.csr`, '-CA', ca, '-CAkey', join(labDir, 'tls', 'ca.key'), '-CAcreateserial', '-out', `${work}/proxy.crt`, '-days', '1', '-copy_extensions', 'copy'])
writeFileSync(`${work}/proxy.mjs`, `import https from 'node:https'; import http from 'node:http'; import {readFileSync} from 'node:fs'
const agent = new http.Agent({keepAlive: true, maxSockets: 64})
https.createServer({key: readFileSync('${work}/proxy.key'), cert: readFileSync('${work}/proxy.crt')}, (req, res) => {
  const up = http.request({host: '127.0.0.1', port: ${lab.ports.s3}, method: req.method, path: req.url, headers: req.headers, agent}, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res) })
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)) })
  req.pipe(up)
}).listen(${PROXY_PORT})
`)
const proxy = spawn(process.execPath, [`${work}/proxy.mjs`], {stdio: 'inherit'})
await sleep(500)

// --- pgBackRest: S3 repository through the proxy, archive-push beside vaultctl's ---
const s3 = new S3Client({region: 'us-east-1', endpoint: `http://127.0.0.1:${lab.ports.s3}`, forcePathStyle: true, credentials: {accessKeyId: secret('s3-access-key'), secretAccessKey: secret('s3-secret-key')}})
await s3.send(new CreateBucketCommand({Bucket: 'pgbackrest'})).catch(() => undefined)
const pgRoot = lab.pgRoot
const pgbrConf = `${work}/pgbr/pgbackrest.conf`
const pgbrBase = `[global]
repo1-type=s3
repo1-s3-endpoint=localhost
repo1-storage-port=${PROXY_PORT}
repo1-storage-ca-file=${work}/pgbr/ca.crt
repo1-s3-bucket=pgbackrest
repo1-s3-region=us-east-1
repo1-s3-key=${secret('s3-access-key')}
repo1-s3-key-secret=${secret('s3-secret-key')}
repo1-s3-uri-style=path
repo1-path=/bench
repo1-retention-full=9
process-max=2
start-fast=y
log-level-console=warn
log-level-file=off
lock-path=${work}/pgbr/lock
spool-path=${work}/pgbr/spool

[bench]
pg1-path=${pgRoot}/pg-1/data
pg1-port=${leaderPort}
pg1-socket-path=${pgRoot}/run
`
const writePgbrConf = (compress) => {
  writeFileSync(pgbrConf, pgbrBase.replace('[bench]', `compress-type=${compress}\n${compress === 'zst' ? 'compress-level=3\n' : compress === 'lz4' ? 'compress-level=1\n' : ''}\n[bench]`))
  chownSync(pgbrConf, asPg.uid ?? process.getuid(), asPg.gid ?? process.getgid())
}
writePgbrConf('zst')
writeFileSync(`${work}/pgbr/ca.crt`, readFileSync(ca)) // the postgres user cannot read the lab's dir
run('chown', ['-R', 'postgres:postgres', `${work}/pgbr`])
const pgbr = (args, o = {}) => run('pgbackrest', [`--config=${pgbrConf}`, '--stanza=bench', ...args], {...asPg, ...o})

const patroni = `https://127.0.0.1:${lab.ports['patroni-1']}`
const rest = ['--cacert', ca, '-u', `vaultctl:${secret('patroni-rest')}`]
const original = (await q(leaderPort, 'show archive_command'))[0].archive_command
const setArchive = async (cmd) => {
  run('curl', ['-sf', ...rest, '-XPATCH', `${patroni}/config`, '-d', JSON.stringify({postgresql: {parameters: {archive_command: cmd}}})])
  for (let i = 0; i < 60 && (await q(leaderPort, 'show archive_command'))[0].archive_command !== cmd; i++) await sleep(500)
}
await setArchive(`${original} && pgbackrest --config=${pgbrConf} --stanza=bench archive-push %p`)
pgbr(['stanza-create'])

// --- vaultctl through the same proxy ---
const doc = parse(readFileSync(join(labDir, 'vaultctl.yaml'), 'utf8'))
doc.environments.bench = structuredClone(doc.environments.lab)
doc.environments.bench.s3 = {...doc.environments.bench.s3, endpoint: `https://127.0.0.1:${PROXY_PORT}`, caFile: ca}
writeFileSync(`${work}/vaultctl.yaml`, stringify(doc))
const vEnv = {...process.env, VAULTCTL_CONFIG: `${work}/vaultctl.yaml`, VAULTCTL_ENV: 'bench', NO_COLOR: '1', VAULTCTL_AUDIT_FILE: `${work}/audit.jsonl`}
const vaultctl = (args) => JSON.parse(run(process.execPath, [bin, ...args, '--json'], {env: vEnv}))

async function waitWritable(port, t0) {
  for (;;) {
    try {
      if (!(await q(port, 'select pg_is_in_recovery() as r'))[0].r) return performance.now() - t0
    } catch {
      // starting
    }
    await sleep(100)
  }
}
const stopAndRemove = (dir) => {
  spawnSync(`${PGBIN}/pg_ctl`, ['-D', dir, '-m', 'immediate', 'stop'], {...asPg, stdio: 'ignore'})
  for (const p of [dir, `${dir}.log`, `${dir}.wal-spool`, `${dir}.wal-runtime`]) rmSync(p, {recursive: true, force: true})
}

async function vaultctlRound(method) {
  await q(leaderPort, 'checkpoint')
  let t0 = performance.now()
  const b = vaultctl(['backup', 'create', '--compression', method])
  const backupMs = performance.now() - t0
  t0 = performance.now()
  const r = vaultctl(['restore', 'pitr', '--latest', '--port', '18557'])
  const restoreMs = performance.now() - t0
  stopAndRemove(r.dataDir)
  return {backupMs, restoreMs, stored: b.manifest.bytes}
}

async function pgbackrestRound(compress) {
  writePgbrConf(compress)
  await q(leaderPort, 'checkpoint')
  let t0 = performance.now()
  pgbr(['backup', '--type=full'])
  const backupMs = performance.now() - t0
  const info = JSON.parse(pgbr(['info', '--output=json']))[0]
  const set = info.backup.at(-1)
  const stored = set.info.repository.delta // bytes of this set in the repository
  const dir = `${pgRoot}/pgbr-restore`
  stopAndRemove(dir)
  t0 = performance.now()
  mkdirSync(dir, {mode: 0o700})
  chownSync(dir, asPg.uid ?? process.getuid(), asPg.gid ?? process.getgid())
  pgbr(['restore', `--pg1-path=${dir}`, '--type=default', '--archive-mode=off'])
  appendFileSync(join(dir, 'postgresql.auto.conf'), `port = 18558\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\narchive_mode = 'off'\nprimary_conninfo = ''\nprimary_slot_name = ''\nhba_file = '${dir}/pg_hba.conf'\nident_file = '${dir}/pg_ident.conf'\n`)
  spawnSync(`${PGBIN}/pg_ctl`, ['-D', dir, '-l', `${dir}.log`, 'start'], {...asPg, stdio: 'ignore'})
  const restoreMs = await waitWritable(18558, t0)
  stopAndRemove(dir)
  return {backupMs, restoreMs, stored}
}

const methods = [['none', 'none'], ['lz4', 'lz4'], ['zstd', 'zst']]
const results = {}
try {
  for (let i = 0; i < runs; i++) {
    for (const [v, p] of methods) {
      results[v] ??= {vaultctl: [], pgbackrest: []}
      results[v].vaultctl.push(await vaultctlRound(v))
      results[v].pgbackrest.push(await pgbackrestRound(p))
      const last = (k) => results[v][k].at(-1)
      console.error(`run ${i + 1} ${v}: vaultctl backup ${(last('vaultctl').backupMs / 1000).toFixed(2)} s ${(last('vaultctl').stored / 1e6).toFixed(0)} MB restore ${(last('vaultctl').restoreMs / 1000).toFixed(2)} s | ` +
        `pgBackRest backup ${(last('pgbackrest').backupMs / 1000).toFixed(2)} s ${(last('pgbackrest').stored / 1e6).toFixed(0)} MB restore ${(last('pgbackrest').restoreMs / 1000).toFixed(2)} s`)
    }
  }
} finally {
  await setArchive(original)
  proxy.kill()
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const s = (ms) => (ms / 1000).toFixed(2)
console.log(`${new Date().toISOString()}: ${runs} alternating runs per method; database ${(dbBytes / 1e9).toFixed(2)} GB; MinIO through one TLS proxy for both; node ${process.version}; ${execFileSync('nproc').toString().trim()} cores`)
console.log('| compression | tool | full backup s | stored MB | restore to writable s |')
console.log('|---|---|---|---|---|')
let pass = true
let best
for (const [v] of methods) {
  for (const tool of ['pgbackrest', 'vaultctl']) {
    const r = results[v][tool]
    console.log(`| ${v} | ${tool} | ${s(median(r.map((x) => x.backupMs)))} | ${(median(r.map((x) => x.stored)) / 1e6).toFixed(0)} | ${s(median(r.map((x) => x.restoreMs)))} |`)
  }
  const p = results[v].pgbackrest
  if (!best || median(p.map((x) => x.backupMs)) < best.backupMs) best = {method: v, backupMs: median(p.map((x) => x.backupMs)), restoreMs: median(p.map((x) => x.restoreMs))}
}
const pz = median(results.zstd.pgbackrest.map((x) => x.stored))
const vz = median(results.zstd.vaultctl.map((x) => x.stored))
const vb = Math.min(...methods.map(([v]) => median(results[v].vaultctl.map((x) => x.backupMs))))
const vr = Math.min(...methods.map(([v]) => median(results[v].vaultctl.map((x) => x.restoreMs))))
const bestRestore = Math.min(...methods.map(([v]) => median(results[v].pgbackrest.map((x) => x.restoreMs))))
const checks = [
  [`vaultctl's fastest backup ${s(vb)} s <= pgBackRest's fastest ${s(best.backupMs)} s (${best.method})`, vb <= best.backupMs],
  [`vaultctl's fastest restore ${s(vr)} s <= pgBackRest's fastest ${s(bestRestore)} s`, vr <= bestRestore],
  [`zstd stored ${(vz / 1e6).toFixed(0)} MB <= 1.1 x pgBackRest zst ${(pz / 1e6).toFixed(0)} MB (${(vz / pz).toFixed(2)}x)`, vz <= 1.1 * pz],
]
for (const [what, ok] of checks) {
  console.log(`${ok ? 'PASS' : 'FAIL'}: ${what}`)
  pass &&= ok
}
// Extrapolation to the architecture's sizes: rates measured here, applied to 500 GB.
const rate = (bytes, ms) => bytes / (ms / 1000)
const vRate = rate(dbBytes, median(results.zstd.vaultctl.map((x) => x.backupMs)))
const rRate = rate(dbBytes, median(results.zstd.vaultctl.map((x) => x.restoreMs)))
console.log(`Extrapolated to a 500 GB database at this box's rates (zstd): backup ${(500e9 / vRate / 3600).toFixed(2)} h, restore ${(500e9 / rRate / 3600).toFixed(2)} h, stored ${(500 * vz / dbBytes).toFixed(0)} GB per full backup, 30 daily: ${(30 * 500 * vz / dbBytes / 1000).toFixed(2)} TB`)

// keep the lab bounded: the bench's own backups go
for (const [bucket, prefix] of [['pgbackrest', ''], ['vault-backups', 'postgres/']]) {
  let keyMarker, versionMarker
  do {
    const r = await s3.send(new ListObjectVersionsCommand({Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker}))
    const objs = [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])].map((o) => ({Key: o.Key, VersionId: o.VersionId}))
    if (objs.length) await s3.send(new DeleteObjectsCommand({Bucket: bucket, Delete: {Objects: objs, Quiet: true}}))
    keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined
    versionMarker = r.IsTruncated ? r.NextVersionIdMarker : undefined
  } while (keyMarker)
}
if (!existsSync(work)) pass = false
process.exitCode = pass ? 0 : 1
