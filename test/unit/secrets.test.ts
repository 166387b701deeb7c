import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {redact, redactArgv, resolveSecret} from '../../src/lib/config/secrets.js'

describe('secrets by reference', () => {
  it('reads env and file references and scrubs the values afterwards', () => {
    process.env.TEST_SECRET_A = 's3cr3t-from-env'
    expect(resolveSecret({env: 'TEST_SECRET_A'}, 'x')).toBe('s3cr3t-from-env')
    const f = join(mkdtempSync(join(tmpdir(), 'vs-')), 'pw')
    writeFileSync(f, 'file-secret-value\n')
    expect(resolveSecret({file: f}, 'x')).toBe('file-secret-value')
    expect(redact('connect with s3cr3t-from-env and file-secret-value')).toBe('connect with *** and ***')
  })

  it('names the missing variable or file', () => {
    expect(() => resolveSecret({env: 'NOPE_NOT_SET_X'}, 'postgres.passwordFrom')).toThrow(/postgres.passwordFrom: environment variable NOPE_NOT_SET_X is not set/)
    expect(() => resolveSecret({file: '/nonexistent/pw'}, 'redis.passwordFrom')).toThrow(/cannot read secret file \/nonexistent\/pw/)
  })

  it('removes secret-looking flag values from a command line', () => {
    expect(redactArgv(['restore', '--db-password', 'p4ss', '--token=abc', '--env', 'prod'])).toEqual(['restore', '--db-password', '***', '--token=***', '--env', 'prod'])
  })
})
