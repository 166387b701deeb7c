// The package an operator installs: `npm pack` of a clean clone (prepack builds dist and the
// oclif manifest), installed with `npm i -g` into a temporary prefix, runs --help, lab up and
// status; and on an old Node it says so in one line.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'vaultctl-pack-'))
const prefix = join(work, 'prefix')
const labDir = join(work, 'lab')
const nodeDir = dirname(process.execPath)
// The installed vaultctl runs on this Node (>= 22.13), found first on PATH as an operator's would be.
const env = {...process.env, PATH: `${join(prefix, 'bin')}:${nodeDir}:${process.env.PATH}`, VAULTCTL_CONFIG: undefined, VAULTCTL_LAB_DIR: labDir, NO_COLOR: '1'}

function sh(cmd: string, args: string[], cwd = work, timeoutMs = 600_000) {
  const r = spawnSync(cmd, args, {cwd, env, encoding: 'utf8', timeout: timeoutMs})
  return {code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? ''}
}

afterAll(() => {
  if (existsSync(join(prefix, 'bin', 'vaultctl'))) sh(join(prefix, 'bin', 'vaultctl'), ['lab', 'down', '--dir', labDir, '--purge', '--yes'])
  // The clone, its node_modules, the tarball and the install: ~440 MB a run.
  rmSync(work, {recursive: true, force: true})
})

describe('npm package', () => {
  it('packs from a clean clone, installs with npm i -g, runs --help, lab up and status', {timeout: 900_000}, () => {
    // A clean clone: what is committed, nothing built.
    expect(sh('git', ['clone', '-q', repo, join(work, 'src')]).code).toBe(0)
    const ci = sh('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], join(work, 'src'))
    expect(ci.code, ci.out.slice(-2000)).toBe(0)
    const pack = sh('npm', ['pack', '--pack-destination', work], join(work, 'src'))
    expect(pack.code, pack.out.slice(-2000)).toBe(0)
    const tgz = readdirSync(work).find((f) => /^vaultctl-.*\.tgz$/.test(f))
    expect(tgz).toBeDefined()
    const listing = sh('tar', ['-tzf', join(work, tgz!)]).out
    expect(listing).toContain('package/dist/commands/lab/up.js')
    expect(listing).toContain('package/oclif.manifest.json')
    expect(listing).toContain('package/dist/wal.mjs')
    expect(listing).not.toMatch(/package\/(src|test|node_modules)\//)

    const install = sh('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(work, tgz!)])
    expect(install.code, install.out.slice(-2000)).toBe(0)
    const bin = join(prefix, 'bin', 'vaultctl')
    const help = sh(bin, ['--help'])
    expect(help.code, help.out).toBe(0)
    expect(help.out).toMatch(/restore/)
    // The installed package runs the real thing: a small lab (S3 only) and its status.
    const up = sh(bin, ['lab', 'up', '--dir', labDir, '--only', 's3', '--base-port', '19000'])
    expect(up.code, up.out.slice(-2000)).toBe(0)
    const status = sh(bin, ['status', '--json'])
    expect(status.code, status.out.slice(-2000)).toBe(0)
    expect(JSON.parse(status.stdout) as {env: string}).toMatchObject({env: 'lab'})
  })

  // The machines here have the system's Node 20; elsewhere there may be no old Node to run.
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => existsSync(n) && Number(spawnSync(n, ['-p', 'process.versions.node.split(".")[0]'], {encoding: 'utf8'}).stdout.trim()) < 22)
  it.skipIf(!old)('on a Node older than 22.13 says so in one line (exit 1), no stack trace (skipped where no old Node is installed)', () => {
    const r = spawnSync(old!, [join(repo, 'bin', 'run.js'), 'status'], {encoding: 'utf8'})
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/vaultctl needs Node\.js >= 22\.13; this is v\d+/)
  })
})
