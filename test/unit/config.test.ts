import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {findConfig, loadConfig, resolveEnvironment} from '../../src/lib/config/load.js'
import {parseConfig} from '../../src/lib/config/parse.js'
import {VaultctlError} from '../../src/lib/errors.js'

const GOOD = `apiVersion: vaultctl/v1
defaultEnvironment: staging
environments:
  prod:
    protected: true
    kubernetes:
      context: prod-eks
    postgres:
      kind: patroni
      cluster: vault-pg
      endpoints: [http://10.0.1.10:8008, http://10.0.2.10:8008, http://10.0.3.10:8008]
      passwordFrom: {env: VAULT_PG_PASSWORD}
      backup: {bucket: vault-backups}
    redis:
      nodes: [10.0.1.20:6379, 10.0.2.20:6379]
    s3:
      region: us-west-2
      buckets: {data: vault-data-prod, backups: vault-backups, audit: vault-audit}
    prometheus: {url: http://prometheus.monitoring:9090}
    slo:
      replicationLag: {warn: 10s, crit: 1m}
  staging:
    postgres:
      kind: rds
      clusterId: vault-staging
      region: us-west-2
`

function problemsOf(text: string): {path: string; line?: number; message: string}[] {
  try {
    parseConfig(text, 'test.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(VaultctlError)
    const e = error as VaultctlError
    expect(e.exit).toBe(2)
    return (e.details as {problems: {path: string; line?: number; message: string}[]} | undefined)?.problems ?? [{path: '', message: e.message}]
  }
  throw new Error('expected the config to be rejected')
}

describe('config schema', () => {
  it('accepts a full file and fills the architecture defaults', () => {
    const c = parseConfig(GOOD, 'good.yaml')
    const prod = c.environments.prod!
    expect(prod.protected).toBe(true)
    expect(prod.kubernetes?.namespaces).toEqual({app: 'llm-vault-prod', data: 'llm-vault-data', jobs: 'llm-vault-jobs'})
    expect(prod.slo.replicationLag).toEqual({warn: 10, crit: 60})
    expect(prod.slo.rpo.postgres).toBe(60) // architecture 8.2: 1 minute
    expect(prod.slo.rto.postgres).toBe(900) // 15 minutes
    expect(prod.postgres?.kind === 'patroni' && prod.postgres.backup?.prefix).toBe('postgres/')
    const staging = c.environments.staging!
    expect(staging.protected).toBe(false)
    expect(staging.postgres?.kind === 'rds' && staging.postgres.engine).toBe('aurora-postgresql')
    expect(staging.slo.replicationLag).toEqual({warn: 30, crit: 60}) // architecture 6.3
  })

  it('names a misspelt key with its full path and line', () => {
    const bad = GOOD.replace('replicationLag: {warn: 10s', 'replicaitonLag: {warn: 10s')
    const [p] = problemsOf(bad)
    expect(p!.path).toBe('environments.prod.slo.replicaitonLag')
    expect(p!.line).toBe(21)
    expect(p!.message).toMatch(/unknown key "replicaitonLag"/)
  })

  it('rejects a secret written inline instead of referenced', () => {
    const [p] = problemsOf(GOOD.replace('passwordFrom: {env: VAULT_PG_PASSWORD}', 'passwordFrom: hunter2'))
    expect(p!.path).toBe('environments.prod.postgres.passwordFrom')
    expect(p!.message).toMatch(/\{env: NAME\} or \{file: PATH\}/)
  })

  it('rejects a plain password key', () => {
    const [p] = problemsOf(GOOD.replace('passwordFrom: {env: VAULT_PG_PASSWORD}', 'password: hunter2'))
    expect(p!.path).toBe('environments.prod.postgres.password')
  })

  it('reports every problem, each with its path', () => {
    const bad = GOOD
      .replace('kind: rds', 'kind: mysql')
      .replace('http://10.0.1.10:8008', 'ftp://10.0.1.10')
      .replace('10.0.2.20:6379', '10.0.2.20')
      .replace('{warn: 10s, crit: 1m}', '{warn: soon, crit: 1m}')
    const paths = problemsOf(bad).map((p) => p.path)
    expect(paths).toEqual(expect.arrayContaining([
      'environments.staging.postgres.kind',
      'environments.prod.postgres.endpoints[0]',
      'environments.prod.redis.nodes[1]',
      'environments.prod.slo.replicationLag.warn',
    ]))
  })

  it('requires apiVersion and names missing required keys', () => {
    const paths = problemsOf('environments:\n  x:\n    s3:\n      region: eu-west-1\n').map((p) => p.path)
    expect(paths).toContain('apiVersion')
    expect(paths).toContain('environments.x.s3.buckets')
  })

  it('rejects invalid YAML with exit 2', () => {
    expect(() => parseConfig('environments: [\n', 'x.yaml')).toThrow(/not valid YAML/)
  })
})

describe('config lookup', () => {
  let dir: string
  const saved = {...process.env}
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vaultctl-cfg-'))
    process.env.HOME = dir
    process.env.VAULTCTL_LAB_DIR = join(dir, 'lab')
    delete process.env.VAULTCTL_CONFIG
    delete process.env.VAULTCTL_ENV
    delete process.env.XDG_CONFIG_HOME
  })
  afterEach(() => {
    process.env = {...saved}
  })

  it('prefers --config, then VAULTCTL_CONFIG, then ./vaultctl.yaml, then the user file', () => {
    writeFileSync(join(dir, 'vaultctl.yaml'), GOOD)
    expect(findConfig('/x/flag.yaml', dir)).toEqual({path: '/x/flag.yaml', how: 'flag'})
    process.env.VAULTCTL_CONFIG = '/x/env.yaml'
    expect(findConfig(undefined, dir).how).toBe('VAULTCTL_CONFIG')
    delete process.env.VAULTCTL_CONFIG
    expect(findConfig(undefined, dir)).toEqual({path: join(dir, 'vaultctl.yaml'), how: 'cwd'})
    expect(findConfig(undefined, join(dir, 'elsewhere')).how).toBe('none')
  })

  it('with no config and no lab, asks for `lab up`', () => {
    const loaded = loadConfig(undefined, join(dir, 'empty'), parseConfig)
    let err: VaultctlError | undefined
    try {
      resolveEnvironment(loaded)
    } catch (error) {
      err = error as VaultctlError
    }
    expect(err?.exit).toBe(2)
    expect(err?.message).toMatch(/local lab has not been set up/)
    expect(err?.suggestions.join(' ')).toMatch(/vaultctl lab up/)
  })

  it('picks --env, then VAULTCTL_ENV, then defaultEnvironment', () => {
    writeFileSync(join(dir, 'vaultctl.yaml'), GOOD)
    const loaded = loadConfig(undefined, dir, parseConfig)
    expect(resolveEnvironment(loaded).name).toBe('staging')
    process.env.VAULTCTL_ENV = 'prod'
    expect(resolveEnvironment(loaded).name).toBe('prod')
    expect(resolveEnvironment(loaded, 'staging').name).toBe('staging')
    expect(() => resolveEnvironment(loaded, 'qa')).toThrow(/"qa" is not defined.*/)
  })
})
