// Benchmark: S3 point-in-time restore of a prefix on the lab's MinIO, vaultctl against its peers in
// the same run: raw server-side CopyObject of exactly the wanted versions (the ceiling, best of
// concurrency 32 and 64), `mc cp --rewind` and s3-pit-restore 0.9 (both: `vaultctl lab install
// --tools mc,s3-pit-restore`); into another bucket (two rounds, alternating) and in place.
// Shape: 10,000 keys with two versions before T and a third after; 513 keys deleted before T and
// re-created after; 500 keys created after T. Every tool restores the state at T into a fresh
// bucket; each result is checked key by key against the bench's own record (keys wrong).
// node bench/s3-restore.mjs   (after a build; ports base 21000; BENCH_KEEP=1 keeps the lab)
import {execFileSync, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {S3Client, CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, DeleteObjectCommand, CopyObjectCommand, paginateListObjectsV2} from '@aws-sdk/client-s3'

const BIN = new URL('../bin/run.js', import.meta.url).pathname
const dir = '/tmp/vaultctl-bench-s3'
const vaultctl = (args, opts = {}) => execFileSync(process.execPath, [BIN, ...args], {encoding: 'utf8', maxBuffer: 1 << 30, env: {...process.env, VAULTCTL_LAB_DIR: dir, NO_COLOR: '1'}, ...opts})
vaultctl(['lab', 'up', '--dir', dir, '--only', 's3', '--base-port', '21000'], {stdio: 'inherit'})
const lab = JSON.parse(readFileSync(`${dir}/lab.json`, 'utf8'))
const endpoint = `http://127.0.0.1:${lab.ports.s3}`
const creds = {accessKeyId: readFileSync(`${dir}/secrets/s3-access-key`, 'utf8').trim(), secretAccessKey: readFileSync(`${dir}/secrets/s3-secret-key`, 'utf8').trim()}
const c = new S3Client({region: 'us-east-1', endpoint, forcePathStyle: true, credentials: creds, maxAttempts: 8})
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pool = async (items, n, fn) => {
  let i = 0
  await Promise.all(Array.from({length: n}, async () => { while (i < items.length) await fn(items[i++]) }))
}
const run = Date.now().toString(36)
const bucket = async (b, versioned = true) => {
  await c.send(new CreateBucketCommand({Bucket: b}))
  if (versioned) await c.send(new PutBucketVersioningCommand({Bucket: b, VersioningConfiguration: {Status: 'Enabled'}}))
}
const body = (k, v) => `${k}:${v}:`.padEnd(1024, '.')
const keys = Array.from({length: 10_000}, (_, i) => `bench/k${String(i).padStart(5, '0')}`)
const reborn = Array.from({length: 513}, (_, i) => `bench/r${String(i).padStart(4, '0')}`)
const born = Array.from({length: 500}, (_, i) => `bench/n${String(i).padStart(4, '0')}`)
/** A source bucket of the bench's shape; T between the second and the third versions. */
async function makeSource(name) {
  const SRC = `bench-${name}-${run}`
  await bucket(SRC)
  const put = (k, v) => c.send(new PutObjectCommand({Bucket: SRC, Key: k, Body: body(k, v)}))
  const t0 = Date.now()
  await pool(keys, 64, (k) => put(k, 1))
  await pool(keys, 64, (k) => put(k, 2))
  await pool(reborn, 64, async (k) => { await put(k, 1); await c.send(new DeleteObjectCommand({Bucket: SRC, Key: k})) })
  await sleep(1500)
  const T = new Date()
  await sleep(1500)
  await pool(keys, 64, (k) => put(k, 3))
  await pool(reborn, 64, (k) => put(k, 2))
  await pool(born, 64, (k) => put(k, 1))
  console.error(`source ${SRC} written in ${((Date.now() - t0) / 1000).toFixed(1)} s; T = ${T.toISOString()}`)
  return {SRC, T}
}
const {SRC, T} = await makeSource('src')

/** Keys wrong in a restored bucket: each of `keys` must hold version 2's content, nothing else may exist. */
async function wrongIn(b) {
  const want = new Map(keys.map((k) => [k, body(k, 2)]))
  const seen = new Set()
  let wrong = 0
  for await (const page of paginateListObjectsV2({client: c}, {Bucket: b, Prefix: 'bench/'})) {
    for (const o of page.Contents ?? []) {
      seen.add(o.Key)
      if (!want.has(o.Key)) wrong++
    }
  }
  for (const k of keys) if (!seen.has(k)) wrong++
  // content: a sample of 200 keys read back
  for (const k of keys.filter((_, i) => i % 50 === 0)) {
    if (!seen.has(k)) continue
    const {GetObjectCommand} = await import('@aws-sdk/client-s3')
    const got = await (await c.send(new GetObjectCommand({Bucket: b, Key: k}))).Body.transformToString()
    if (got !== want.get(k)) wrong++
  }
  return wrong
}

const results = []
const measure = async (tool, b, fn, extra = {}) => {
  const t0 = Date.now()
  const out = await fn()
  results.push({tool, seconds: (Date.now() - t0) / 1000, wrong: await wrongIn(b), ...extra, ...(out ?? {})})
}
const fresh = async (name) => {
  const b = `bench-${name}-${run}`
  await bucket(b)
  return b
}
// The ceiling: exactly the wanted versions, copied server-side, from a precomputed list.
const {listVersions} = await import('../dist/lib/clients/s3-versions.js')
const {groupByKey, stateAt} = await import('../dist/lib/s3/versions.js')
const wanted = groupByKey(await listVersions(c, SRC, 'bench/')).map((h) => [h.key, stateAt(h, T)]).filter(([, e]) => e && !e.deleteMarker)
const raw = (b, n) => pool(wanted, n, ([k, e]) => c.send(new CopyObjectCommand({Bucket: b, Key: k, CopySource: `${SRC}/${k}?versionId=${e.versionId}`})))
const vaultctlTo = (src, b, n, t) => () => { vaultctl(['restore', 's3', '--bucket', src, '--prefix', 'bench/', '--to', t.toISOString(), ...(b === src ? [] : ['--to-bucket', b]), '--concurrency', String(n), '--yes', '--json']) }
// mc: built by `vaultctl lab install --tools mc` (or on PATH)
const mcBin = [`${process.env.HOME}/.cache/vaultctl/mc/bin/mc`, 'mc'].find((m) => spawnSync(m, ['--version']).status === 0)
const mcEnv = {...process.env, MC_CONFIG_DIR: `${dir}/mc`, MC_HOST_bench: `http://${creds.accessKeyId}:${creds.secretAccessKey}@127.0.0.1:${lab.ports.s3}`}
const mcTo = (src, b, t) => () => {
  const r = spawnSync(mcBin, ['cp', '--recursive', '--quiet', '--rewind', t.toISOString(), `bench/${src}/bench/`, `bench/${b}/bench/`], {encoding: 'utf8', env: mcEnv})
  return r.status === 0 ? {} : {exit: r.status, stderr: r.stderr.slice(-300)}
}
// Into another bucket: two rounds, the tools alternating (the machine is shared and noisy).
for (const round of [1, 2]) {
  for (const n of [32, 64]) { const b = await fresh(`raw${n}-${round}`); await measure(`raw CopyObject x${n} (ceiling)`, b, () => raw(b, n)) }
  { const b = await fresh(`vaultctl-${round}`); await measure('vaultctl restore s3 --to-bucket (concurrency 32)', b, vaultctlTo(SRC, b, 32, T)) }
  if (mcBin) { const b = await fresh(`mc-${round}`); await measure('mc cp --rewind (to another bucket)', b, mcTo(SRC, b, T)) }
}
// s3-pit-restore 0.9, if installed (vaultctl lab install --tools s3-pit-restore).
const pit = spawnSync('s3-pit-restore', ['--help'], {encoding: 'utf8'})
if (pit.status === 0) {
  const b = await fresh('pit')
  await measure('s3-pit-restore 0.9 --max-workers 64 (to another bucket)', b, () => {
    const r = spawnSync('s3-pit-restore', ['-b', SRC, '-B', b, '-p', 'bench/', '-t', T.toISOString(), '--max-workers', '64'],
      {encoding: 'utf8', env: {...process.env, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1'}})
    return r.status === 0 ? {} : {exit: r.status, stderr: r.stderr.slice(-300)}
  })
} else {
  results.push({tool: 's3-pit-restore', skipped: 'not installed (vaultctl lab install --tools s3-pit-restore)'})
}
// In place: each tool on its own source of the same shape (a restore changes its source).
{ const s = await makeSource('inplace-vaultctl'); await measure('vaultctl restore s3 in place (concurrency 32)', s.SRC, vaultctlTo(s.SRC, s.SRC, 32, s.T)) }
if (mcBin) { const s = await makeSource('inplace-mc'); await measure('mc cp --rewind in place', s.SRC, mcTo(s.SRC, s.SRC, s.T)) }
else results.push({tool: 'mc cp --rewind', skipped: 'mc not built (vaultctl lab install --tools mc)'})
const ceiling = Math.min(...results.filter((r) => r.tool.startsWith('raw')).map((r) => r.seconds))
for (const r of results) if (r.seconds) r.ofCeiling = `${((ceiling / r.seconds) * 100).toFixed(0)}%`
console.log(JSON.stringify({date: new Date().toISOString(), keys: keys.length + reborn.length + born.length, toCopy: wanted.length, results}, null, 2))
if (!process.env.BENCH_KEEP) vaultctl(['lab', 'down', '--dir', dir, '--purge', '--yes'])
