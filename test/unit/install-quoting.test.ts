// The lab's install scripts (run through sh -c) quote every path with the one shell helper: a
// destination holding a space, a ; and a quote gets the files and runs nothing else.
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {installCommands, KWOK_VERSION} from '../../src/lib/lab/binaries.js'

// Copies two files of a Go module from the module cache (filled by `lab install --with kubernetes`).
const cached = existsSync(join(process.env.GOMODCACHE ?? join(homedir(), 'go', 'pkg', 'mod'), 'sigs.k8s.io', `kwok@${KWOK_VERSION}`))

describe('install scripts', () => {
  it.skipIf(!cached)('copy Go module files into a directory named with a space, a ; and a quote (skipped without the kwok module in the Go module cache)', () => {
    const parent = mkdtempSync(join(tmpdir(), 'vaultctl-inst-'))
    const dest = join(parent, "st ages;touch pwned;'x")
    const [cmd] = installCommands([{binary: 'kwok-stages', neededFor: 'test', install: {kind: 'gomod-file', module: `sigs.k8s.io/kwok@${KWOK_VERSION}`, files: ['kustomize/stage/node/fast/node-initialize.yaml'], dest}}])
    expect(cmd!.argv.slice(0, 2)).toEqual(['sh', '-c'])
    const r = spawnSync(cmd!.argv[0]!, cmd!.argv.slice(1), {cwd: parent, encoding: 'utf8', env: {...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off'}})
    expect(r.status, r.stderr).toBe(0)
    expect(readdirSync(dest)).toEqual(['node-initialize.yaml'])
    for (const d of [parent, process.cwd(), tmpdir()]) expect(existsSync(join(d, 'pwned')), d).toBe(false)
    // and the printed script is the one that ran
    expect(cmd!.manual).toBe(cmd!.argv[2])
    expect(execFileSync('sh', ['-n', '-c', cmd!.manual]).toString()).toBe('')
  })
})
