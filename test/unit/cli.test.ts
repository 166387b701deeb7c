// The built CLI's conventions: exit codes, --json, errors with fixes, and a --help that loads no SDK.
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {BIN, vaultctl} from '../helpers/cli.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'vaultctl-cli-'))
const isolated = (dir: string) => ({HOME: dir, VAULTCTL_LAB_DIR: join(dir, 'lab'), VAULTCTL_AUDIT_FILE: join(dir, 'audit.jsonl'), VAULTCTL_CONFIG: undefined, VAULTCTL_ENV: undefined})

describe('help is fast because it loads nothing heavy', () => {
  const heavy = /node_modules\/(@aws-sdk|@smithy|ioredis|execa|pg|@kubernetes|listr2)\//
  for (const args of [['--help'], ['status', '--help'], ['lab', 'up', '--help'], ['config', 'validate', '--help']]) {
    it(`vaultctl ${args.join(' ')}`, () => {
      const trace = join(tmp(), 'imports.txt')
      const hook = fileURLToPath(new URL('../helpers/trace-imports.mjs', import.meta.url))
      const r = spawnSync(process.execPath, ['--import', hook, BIN, ...args], {env: {...process.env, TRACE_IMPORTS_FILE: trace}, encoding: 'utf8'})
      expect(r.status).toBe(0)
      expect(r.stdout).toMatch(/USAGE|COMMANDS/)
      const loaded = readFileSync(trace, 'utf8').split('\n')
      expect(loaded.some((u) => u.endsWith('/dist/help.js'))).toBe(true) // the hook did record the help module
      expect(loaded.filter((u) => heavy.test(u))).toEqual([])
    })
  }
})

describe('errors and exit codes', () => {
  it('an invalid config: exit 2, the exact path, and the fix; --json puts the error on stdout', async () => {
    const d = tmp()
    const cfg = join(d, 'vaultctl.yaml')
    writeFileSync(cfg, 'apiVersion: vaultctl/v1\nenvironments:\n  prod:\n    protectd: true\n')
    const r = await vaultctl(['config', 'validate', '--config', cfg], {env: isolated(d)})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('environments.prod.protectd (line 4): unknown key "protectd"')
    expect(r.stderr).toContain('vaultctl config validate')
    expect(r.stdout).toBe('')
    const j = await vaultctl(['config', 'validate', '--config', cfg, '--json'], {env: isolated(d)})
    expect(j.code).toBe(2)
    expect(j.json<{error: {code: string; exit: number; details: {problems: {path: string}[]}}}>().error).toMatchObject({code: 'CONFIG_INVALID', exit: 2, details: {problems: [{path: 'environments.prod.protectd'}]}})
  })

  it('an unknown environment: exit 2 naming the known ones', async () => {
    const d = tmp()
    const cfg = join(d, 'vaultctl.yaml')
    writeFileSync(cfg, 'apiVersion: vaultctl/v1\nenvironments:\n  prod: {}\n  staging: {}\n')
    const r = await vaultctl(['status', '--config', cfg, '--env', 'qa'], {env: isolated(d)})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/environment "qa" is not defined/)
    expect(r.stderr).toMatch(/Known environments: prod, staging/)
  })

  it('an unknown flag: exit 2', async () => {
    const d = tmp()
    const r = await vaultctl(['status', '--frobnicate'], {env: isolated(d)})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/frobnicate/)
  })

  it('no config and no lab: exit 2 and the advice to run lab up', async () => {
    const d = tmp()
    const r = await vaultctl(['status'], {env: isolated(d)})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/vaultctl lab up/)
  })

  it('a missing program: exit 3 with the exact install command, and nothing written', async () => {
    const d = tmp()
    const r = await vaultctl(['lab', 'up', '--dir', join(d, 'lab')], {env: {...isolated(d), PATH: '/nonexistent'}})
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/missing programs: etcd \(Patroni DCS\), patroni/)
    expect(r.stderr).toMatch(/apt-get install -y --no-install-recommends etcd-server etcd-client patroni/)
    expect(r.stderr).toMatch(/lab up --install/)
    expect(existsSync(join(d, 'lab'))).toBe(false)
  })

  it('config show never prints a secret value', async () => {
    const d = tmp()
    const cfg = join(d, 'vaultctl.yaml')
    writeFileSync(cfg, 'apiVersion: vaultctl/v1\nenvironments:\n  prod:\n    redis:\n      nodes: [10.0.0.1:6379]\n      passwordFrom: {env: TEST_REDIS_PW}\n')
    const r = await vaultctl(['config', 'show', '--config', cfg, '--env', 'prod', '--json'], {env: {...isolated(d), TEST_REDIS_PW: 'correct-horse-battery'}})
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('correct-horse-battery')
    expect(r.json<{environment: {redis: {passwordFrom: string}}}>().environment.redis.passwordFrom).toBe('env:TEST_REDIS_PW (set; value hidden)')
  })
})

describe('numeric, duration and time flags are checked before any work', () => {
  const bad: [string[], RegExp][] = [
    [['backup', 'validate', '--timeout=-1m'], /--timeout "-1m": expected a positive duration/],
    [['backup', 'validate', '--timeout', 'soon'], /--timeout "soon": expected a positive duration/],
    [['backup', 'validate', '--max-backup-age', 'banana'], /--max-backup-age "banana"/],
    [['restore', 'pitr', '--latest', '--port=-5'], /--port "-5": expected a whole number from 1 to 65535/],
    [['restore', 'pitr', '--latest', '--port', '70000'], /--port "70000"/],
    [['restore', 'pitr', '--latest', '--timeout', '0s'], /--timeout "0s"/],
    [['restore', '--pitr', '--latest', '--port', 'x'], /--port "x"/],
    [['lab', 'metrics', '--days=-1'], /--days "-1": expected a whole number from 1/],
    [['lab', 'metrics', '--step', '0'], /--step "0"/],
    [['lab', 'metrics', '--end', '2026-11-27 10:00'], /--end .*UTC offset/],
    [['lab', 'up', '--base-port', '99'], /--base-port "99"/],
    [['lab', 'up', '--port', 'redis-1=99999'], /from 1 to 65535/],
    [['failover', 'postgres', '--timeout', '-5s'], /--timeout "-5s"/],
    [['failover', 'postgres', '--max-lag', 'lots'], /--max-lag "lots": expected a size/],
    [['failover', 'postgres', '--scheduled-at', '2026-12-01T02:00:00'], /--scheduled-at .*UTC offset/],
    [['failover', 'redis', '--replica', '127.0.0.1:1', '--timeout', '1y'], /--timeout "1y"/],
  ]
  for (const [args, message] of bad) {
    it(`vaultctl ${args.join(' ')}: exit 2, naming the flag and the accepted form`, async () => {
      const d = tmp()
      const r = await vaultctl(args, {env: {...isolated(d), PATH: '/nonexistent'}})
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toMatch(/→ e\.g\. --/)
      expect(r.stderr).not.toMatch(/Parsing --|See more help/)
      expect(existsSync(join(d, 'lab'))).toBe(false)
    })
  }
})

describe('small things an operator trips on', () => {
  it('a reader that stops early ends the command quietly (EPIPE)', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" lab metrics --days 1 | head -1`], {encoding: 'utf8'})
    expect(r.stdout).toMatch(/^# HELP/)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })
  it('wal push and wal fetch --help list only the flags they take', async () => {
    for (const verb of ['push', 'fetch']) {
      const r = await vaultctl(['wal', verb, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/--env/)
      expect(r.stdout).not.toMatch(/--dry-run|--yes|--debug|--confirm/)
    }
  })
  it('a misspelt postgres.kind is named, with the key it should be', async () => {
    const d = tmp()
    const cfg = join(d, 'vaultctl.yaml')
    writeFileSync(cfg, 'apiVersion: vaultctl/v1\nenvironments:\n  x:\n    postgres: {kindd: patroni, cluster: a, endpoints: [http://a:8008]}\n')
    const r = await vaultctl(['config', 'validate', '--config', cfg], {env: isolated(d)})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('environments.x.postgres.kindd (line 4): unknown key "kindd": did you mean "kind"?')
    expect(r.stderr).toMatch(/environments\.x\.postgres\.kind \(line 4\): missing: "kind" \("patroni" or "rds"\)/)
  })
})

describe('result contracts', () => {
  it('every command\'s --json result has a checked-in JSON Schema that matches its type (scripts/json-schemas.mjs --check)', () => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/json-schemas.mjs', import.meta.url)), '--check'], {encoding: 'utf8'})
    expect(r.stderr.split('\n').filter((l) => l.startsWith('out of date'))).toEqual([])
    expect(r.status, r.stderr).toBe(0)
  })
})

describe('lab down --purge deletes only a lab', () => {
  it('refuses (exit 3) a directory without lab.json, and leaves it as it was', async () => {
    const d = tmp()
    writeFileSync(join(d, 'keep.txt'), 'mine')
    const r = await vaultctl(['lab', 'down', '--purge', '--yes', '--dir', d], {env: isolated(d)})
    expect(r.code, r.stderr).toBe(3)
    expect(r.stderr).toMatch(/holds no lab\.json: it is not a lab/)
    expect(readFileSync(join(d, 'keep.txt'), 'utf8')).toBe('mine')
  })
  it('in a directory that holds a lab and other things, deletes the lab\'s own entries and keeps the rest (and the directory)', async () => {
    const d = tmp()
    writeFileSync(join(d, 'keep.txt'), 'mine')
    mkdirSync(join(d, 'my-notes'))
    writeFileSync(join(d, 'lab.json'), JSON.stringify({dir: d, pgRoot: join(d, 'postgres'), ports: {etcd: 29379}, s3Server: 'minio', cluster: 'vault-lab', components: ['s3']}))
    for (const e of ['run', 'logs', 'secrets', 's3']) mkdirSync(join(d, e))
    writeFileSync(join(d, 'secrets', 's3-secret-key'), 'x')
    const r = await vaultctl(['lab', 'down', '--purge', '--yes', '--dir', d, '--json'], {env: isolated(d)})
    expect(r.code, r.stderr).toBe(0)
    expect(readdirSync(d).sort()).toEqual(['audit.jsonl', 'keep.txt', 'my-notes']) // the test's audit log lives there too
  })
})
