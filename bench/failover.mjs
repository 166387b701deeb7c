// Failover speed against the peers, on the lab (`vaultctl lab up` first), alternating runs.
// PostgreSQL: `vaultctl failover postgres --candidate C` vs Debian's `patronictl switchover --force`:
//   time from start until the new leader accepts a write (polled independently, every 20 ms),
//   and until the command returns. Target: vaultctl returns a verified writable leader sooner
//   than patronictl returns.
// Redis: `vaultctl failover redis --master M`: time from CLUSTER FAILOVER to all nodes agreeing
//   (reported by vaultctl, which verifies on every node). Target: under 1 s.
// Usage: scripts/with-node node bench/failover.mjs [runs-each] [lab-dir]
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import pg from 'pg'

const runs = Number(process.argv[2] ?? 5)
const labDir = process.argv[3] ?? process.env.VAULTCTL_LAB_DIR ?? join(homedir(), '.local/share/vaultctl/lab')
const lab = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'))
const password = readFileSync(join(labDir, 'secrets/postgres-superuser'), 'utf8').trim()
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const env = {...process.env, VAULTCTL_LAB_DIR: labDir, NO_COLOR: '1'}
const api = `http://127.0.0.1:${lab.ports['patroni-1']}`
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function cluster() {
  for (const i of [1, 2, 3]) {
    try {
      const r = await fetch(`http://127.0.0.1:${lab.ports[`patroni-${i}`]}/cluster`, {signal: AbortSignal.timeout(1000)})
      return await r.json()
    } catch {
      // next
    }
  }
  throw new Error('no Patroni answers')
}

async function settled() {
  for (let i = 0; i < 300; i++) {
    const c = await cluster()
    const leader = c.members.find((m) => m.role === 'leader' || m.role === 'master')
    if (leader && c.members.every((m) => m.state === 'running' || m.state === 'streaming') && c.members.every((m) => m.timeline === leader.timeline)) return c
    await sleep(200)
  }
  throw new Error('cluster did not settle')
}

async function writable(port) {
  const c = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', connectionTimeoutMillis: 500})
  try {
    await c.connect()
    await c.query('select txid_current()')
    return true
  } catch {
    return false
  } finally {
    c.end().catch(() => {})
  }
}

async function measure(cmd, args, candidatePort) {
  const t0 = performance.now()
  const child = spawn(cmd, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const done = new Promise((r) => child.on('close', (code) => r({code, returned: performance.now() - t0})))
  let writableAt
  let finished
  done.then((x) => (finished = x))
  // the candidate is a replica now: it becomes writable only once promoted
  while (writableAt === undefined && performance.now() - t0 < 60_000) {
    if (await writable(candidatePort)) writableAt = performance.now() - t0
    else await sleep(20)
  }
  const {code, returned} = finished ?? (await done)
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-500)}`)
  return {writable: writableAt, returned}
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (ms) => (ms / 1000).toFixed(2)

const pgResults = {vaultctl: [], patronictl: []}
for (let i = 0; i < runs * 2; i++) {
  const tool = i % 2 === 0 ? 'vaultctl' : 'patronictl'
  const c = await settled()
  await sleep(1000)
  const leader = c.members.find((m) => m.role === 'leader' || m.role === 'master')
  const candidate = c.members.find((m) => m !== leader)
  const r = tool === 'vaultctl'
    ? await measure(process.execPath, [bin, 'failover', 'postgres', '--candidate', candidate.name, '--leader', leader.name], candidate.port)
    : await measure('patronictl', ['-c', join(lab.pgRoot, 'pg-1', 'patroni.yml'), 'switchover', lab.cluster, '--leader', leader.name, '--candidate', candidate.name, '--force'], candidate.port)
  pgResults[tool].push(r)
  console.error(`run ${i + 1}: ${tool} ${leader.name}->${candidate.name}: writable ${fmt(r.writable)} s, returned ${fmt(r.returned)} s`)
}

const redisAgreed = []
const redisWall = []
for (let i = 0; i < runs; i++) {
  const t0 = performance.now()
  const nodes = await new Promise((resolve, reject) => {
    const ch = spawn(process.execPath, [bin, 'status', '--component', 'redis', '--json'], {env})
    let o = ''
    ch.stdout.on('data', (d) => (o += d))
    ch.on('close', () => {
      try {
        resolve(JSON.parse(o))
      } catch (e) {
        reject(e)
      }
    })
  })
  const master = nodes.components[0].rows.find((r) => r.role === 'master' && r.rating === 'ok')
  const res = await new Promise((resolve, reject) => {
    const t1 = performance.now()
    const ch = spawn(process.execPath, [bin, 'failover', 'redis', '--master', master.name, '--json'], {env})
    let o = ''
    ch.stdout.on('data', (d) => (o += d))
    ch.on('close', (code) => (code === 0 ? resolve({...JSON.parse(o), wall: performance.now() - t1}) : reject(new Error(o))))
  })
  redisAgreed.push(res.agreedAfterSeconds * 1000)
  redisWall.push(res.wall)
  console.error(`redis run ${i + 1}: ${res.replica} replaces ${res.oldMaster}: agreed ${res.agreedAfterSeconds.toFixed(3)} s, command ${fmt(res.wall)} s (${fmt(performance.now() - t0)} incl. status)`)
  await sleep(1500)
}

console.log(`\n${new Date().toISOString()}, ${runs} alternating runs each, lab ${labDir}, api ${api}`)
console.log('| tool | median writable leader s | median command returned s | runs |')
console.log('|---|---|---|---|')
for (const [tool, rs] of Object.entries(pgResults)) console.log(`| ${tool} | ${fmt(median(rs.map((r) => r.writable)))} | ${fmt(median(rs.map((r) => r.returned)))} | ${rs.length} |`)
const vReturned = median(pgResults.vaultctl.map((r) => r.returned))
const pReturned = median(pgResults.patronictl.map((r) => r.returned))
console.log(`PostgreSQL: vaultctl returns a verified writable leader in ${fmt(vReturned)} s; patronictl returns in ${fmt(pReturned)} s (ratio ${(vReturned / pReturned).toFixed(2)}) -> ${vReturned < pReturned ? 'PASS' : 'FAIL'}`)
console.log(`Redis: all nodes agree, median ${(median(redisAgreed) / 1000).toFixed(3)} s (max ${(Math.max(...redisAgreed) / 1000).toFixed(3)} s), command wall median ${fmt(median(redisWall))} s -> ${median(redisAgreed) < 1000 ? 'PASS' : 'FAIL'}`)
