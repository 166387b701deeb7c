// The cache of checked configs (local commands start without yaml and zod): a text is served
// from it only when those exact bytes were checked under the same schema; an edit is checked again.
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {vaultctl} from '../helpers/cli.js'

const GOOD = `apiVersion: vaultctl/v1
defaultEnvironment: staging
environments:
  staging:
    s3: {region: eu-west-1, buckets: {data: vault-data, backups: vault-backups, audit: vault-audit}}
`

describe('cache of checked configs', () => {
  it('a second run is served from the cache with the same result; an invalid edit is still refused (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultctl-cfgcache-'))
    const cache = join(dir, 'cache')
    const file = join(dir, 'vaultctl.yaml')
    writeFileSync(file, GOOD)
    const run = (args: string[]) => vaultctl(args, {env: {VAULTCTL_CONFIG: file, XDG_CACHE_HOME: cache, VAULTCTL_ENV: undefined}})
    const first = await run(['config', 'show', '--json'])
    expect(first.code, first.stderr).toBe(0)
    const entries = readdirSync(join(cache, 'vaultctl', 'config'))
    expect(entries).toHaveLength(1)
    // The cached entry is the checked config, defaults applied (forcePathStyle), mode 600.
    expect(JSON.parse(readFileSync(join(cache, 'vaultctl', 'config', entries[0]!), 'utf8'))).toMatchObject({environments: {staging: {s3: {region: 'eu-west-1', forcePathStyle: false}}}})
    const second = await run(['config', 'show', '--json'])
    expect(second.stdout).toBe(first.stdout)
    writeFileSync(file, GOOD.replace('region: eu-west-1', 'regoin: eu-west-1'))
    const bad = await run(['config', 'validate'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/environments\.staging\.s3\.regoin.*unknown key/)
  })
})
