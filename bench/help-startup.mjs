// Start-up cost of `vaultctl --help` against the floor, `node -e 0`, measured in the same run with
// the same node, alternating runs so machine noise hits both alike. Target: median ratio <= 3.
// Usage: scripts/with-node node bench/help-startup.mjs [runs]
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const runs = Number(process.argv[2] ?? 31)
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const cases = {
  'node -e 0': ['-e', '0'],
  'vaultctl --help': [bin, '--help'],
  'vaultctl status --help': [bin, 'status', '--help'],
  'vaultctl lab up --help': [bin, 'lab', 'up', '--help'],
}
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))

function once(args) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, {stdio: 'ignore'})
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

for (const args of Object.values(cases)) once(args) // warm the page cache
for (let i = 0; i < runs; i++) for (const [name, args] of Object.entries(cases)) times[name].push(once(args))

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const floor = median(times['node -e 0'])
console.log(`node ${process.version}, ${runs} alternating runs each, ${new Date().toISOString()}`)
console.log('| command | median ms | ratio to node -e 0 |')
console.log('|---|---|---|')
for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / floor).toFixed(2)} |`)
const worst = Math.max(...Object.keys(cases).filter((k) => k !== 'node -e 0').map((k) => median(times[k]) / floor))
console.log(worst <= 3 ? `PASS: worst ratio ${worst.toFixed(2)} <= 3` : `FAIL: worst ratio ${worst.toFixed(2)} > 3`)
process.exitCode = worst <= 3 ? 0 : 1
