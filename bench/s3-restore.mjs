// Benchmark: S3 point-in-time restore of a prefix on the lab's MinIO, vaultctl against its peers in
// the same run: raw server-side CopyObject of exactly the wanted versions (the ceiling, best of
// concurrency 32 and 64) and s3-pit-restore 0.9 (PyPI; `pip install s3-pit-restore==0.9`).
// Shape: 10,000 keys with two versions before T and a third after; 513 keys deleted before T and
// re-created after; 500 keys created after T. Every tool restores the state at T into a fresh
// bucket; each result is checked key by key against the bench's own record (keys wrong).
// node bench/s3-restore.mjs   (after a build; ports base 21000)
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
const SRC = `bench-src-${run}`
const bucket = async (b, versioned = true) => {
  await c.send(new CreateBucketCommand({Bucket: b}))
  if (versioned) await c.send(new PutBucketVersioningCommand({Bucket: b, VersioningConfiguration: {Status: 'Enabled'}}))
}
await bucket(SRC)
const body = (k, v) => `${k}:${v}:`.padEnd(1024, '.')
const keys = Array.from({length: 10_000}, (_, i) => `bench/k${String(i).padStart(5, '0')}`)
const reborn = Array.from({length: 513}, (_, i) => `bench/r${String(i).padStart(4, '0')}`)
const born = Array.from({length: 500}, (_, i) => `bench/n${String(i).padStart(4, '0')}`)
const put = (k, v) => c.send(new PutObjectCommand({Bucket: SRC, Key: k, Body: body(k, v)}))
let t0 = Date.now()
await pool(keys, 64, (k) => put(k, 1))
await pool(keys, 64, (k) => put(k, 2))
await pool(reborn, 64, async (k) => { await put(k, 1); await c.send(new DeleteObjectCommand({Bucket: SRC, Key: k})) })
await sleep(1500)
const T = new Date()
await sleep(1500)
await pool(keys, 64, (k) => put(k, 3))
await pool(reborn, 64, (k) => put(k, 2))
await pool(born, 64, (k) => put(k, 1))
console.log(`source written in ${((Date.now() - t0) / 1000).toFixed(1)} s; T = ${T.toISOString()}`)

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
// The ceiling: exactly the wanted versions, copied server-side.
const {listVersions} = await import('../dist/lib/clients/s3-versions.js')
const {groupByKey, stateAt} = await import('../dist/lib/s3/versions.js')
const wanted = groupByKey(await listVersions(c, SRC, 'bench/')).map((h) => [h.key, stateAt(h, T)]).filter(([, e]) => e && !e.deleteMarker)
for (const n of [32, 64]) {
  const b = `bench-raw${n}-${run}`
  await bucket(b)
  t0 = Date.now()
  await pool(wanted, n, ([k, e]) => c.send(new CopyObjectCommand({Bucket: b, Key: k, CopySource: `${SRC}/${k}?versionId=${e.versionId}`})))
  results.push({tool: `raw CopyObject x${n} (ceiling)`, seconds: (Date.now() - t0) / 1000, wrong: await wrongIn(b)})
}
// vaultctl: listing, planning and copying, as an operator runs it.
for (const n of [32, 64]) {
  const b = `bench-vaultctl${n}-${run}`
  await bucket(b)
  t0 = Date.now()
  vaultctl(['restore', 's3', '--bucket', SRC, '--prefix', 'bench/', '--to', T.toISOString(), '--to-bucket', b, '--concurrency', String(n), '--yes', '--json'])
  results.push({tool: `vaultctl restore s3 --concurrency ${n}`, seconds: (Date.now() - t0) / 1000, wrong: await wrongIn(b)})
}
// s3-pit-restore 0.9, if installed.
const pit = spawnSync('s3-pit-restore', ['--help'], {encoding: 'utf8'})
if (pit.status === 0) {
  const b = `bench-pit-${run}`
  await bucket(b)
  t0 = Date.now()
  const r = spawnSync('s3-pit-restore', ['-b', SRC, '-B', b, '-p', 'bench/', '-t', T.toISOString(), '--max-workers', '64'],
    {encoding: 'utf8', env: {...process.env, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1'}})
  results.push({tool: 's3-pit-restore 0.9 --max-workers 64', seconds: (Date.now() - t0) / 1000, wrong: await wrongIn(b), ...(r.status === 0 ? {} : {exit: r.status, stderr: r.stderr.slice(-300)})})
} else {
  results.push({tool: 's3-pit-restore', skipped: 'not installed (pip install s3-pit-restore==0.9)'})
}
results.push({tool: 'mc cp --rewind', skipped: 'not measured: mc (github.com/minio/mc) is not built on this machine'})
const ceiling = Math.min(...results.filter((r) => r.tool.startsWith('raw')).map((r) => r.seconds))
for (const r of results) if (r.seconds) r.ofCeiling = `${((ceiling / r.seconds) * 100).toFixed(0)}%`
console.log(JSON.stringify({date: new Date().toISOString(), keys: keys.length + reborn.length + born.length, toCopy: wanted.length, results}, null, 2))
vaultctl(['lab', 'down', '--dir', dir, '--purge', '--yes'])
