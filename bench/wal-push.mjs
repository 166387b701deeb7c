// Per-segment cost of archiving through `vaultctl wal push` (the bundled entry point the lab's
// PostgreSQL runs as archive_command) against a plain `cp` archive_command, alternating runs,
// each on a fresh 16 MiB segment. The difference is vaultctl's per-segment overhead (node start,
// config, SHA-256, HEAD + PUT to the lab's S3).
// Usage: scripts/with-node node bench/wal-push.mjs [runs] [lab-dir]
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'

const runs = Number(process.argv[2] ?? 20)
const labDir = process.argv[3] ?? process.env.VAULTCTL_LAB_DIR ?? join(homedir(), '.local/share/vaultctl/lab')
const lab = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'))
const rt = join(lab.pgRoot, 'vaultctl')
const work = mkdtempSync(join(tmpdir(), 'vaultctl-walbench-'))
const archive = join(work, 'archive')
spawnSync('mkdir', ['-p', archive])
const body = randomBytes(16 * 1024 * 1024)
const tl = 0x7e // a timeline no lab cluster uses, so the benchmark never collides with real WAL
const name = (i) => `${tl.toString(16).toUpperCase().padStart(8, '0')}00000000${(0x1000 + i).toString(16).toUpperCase().padStart(8, '0')}`
const time = (cmd, args) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {stdio: ['ignore', 'ignore', 'pipe']})
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}
const cp = []
const push = []
const again = []
const stamp = Date.now() % 0x1000
for (let i = 0; i < runs; i++) {
  const seg = join(work, name(stamp * 64 + i))
  writeFileSync(seg, body)
  cp.push(time('sh', ['-c', `test ! -f ${archive}/${name(stamp * 64 + i)} && cp ${seg} ${archive}/${name(stamp * 64 + i)}`]))
  push.push(time(join(rt, 'node'), [join(rt, 'wal.mjs'), 'push', seg, '--config', join(rt, 'wal.yaml'), '--env', 'wal']))
  again.push(time(join(rt, 'node'), [join(rt, 'wal.mjs'), 'push', seg, '--config', join(rt, 'wal.yaml'), '--env', 'wal']))
  rmSync(seg)
}
rmSync(work, {recursive: true, force: true})
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log(`${new Date().toISOString()}, ${runs} alternating runs, 16 MiB segments, S3 = lab ${lab.s3Server} at 127.0.0.1:${lab.ports.s3}`)
console.log('| archive_command | median ms | p90 ms |')
console.log('|---|---|---|')
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]
console.log(`| cp (test ! -f && cp) | ${median(cp).toFixed(1)} | ${p90(cp).toFixed(1)} |`)
console.log(`| vaultctl wal push (new segment) | ${median(push).toFixed(1)} | ${p90(push).toFixed(1)} |`)
console.log(`| vaultctl wal push (already archived, same sha256) | ${median(again).toFixed(1)} | ${p90(again).toFixed(1)} |`)
console.log(`per-segment overhead of vaultctl over cp: ${(median(push) - median(cp)).toFixed(1)} ms`)
