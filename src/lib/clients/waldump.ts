// pg_waldump is the interface to what a WAL segment holds: here, the time of its last commit.
import {failure} from '../errors.js'
import {childEnvOptions} from './child-env.js'

export async function lastCommitInSegment(binDir: string, dir: string, segment: string): Promise<Date | undefined> {
  const {execa} = await import('execa')
  const bin = `${binDir.replace(/\/$/, '')}/pg_waldump`
  const r = await execa(bin, ['--path', dir, '--rmgr', 'Transaction', segment, segment], {reject: false, stdin: 'ignore', ...childEnvOptions()})
  // Without pg_waldump the window would silently end earlier and a good target be refused.
  const code = (r as {code?: string}).code
  if (code === 'ENOENT' || code === 'EACCES') {
    throw failure('PG_WALDUMP_MISSING', `${bin} cannot be run (${code}): it reads the last commit of the archived WAL, which bounds the restorable window`,
      ['Install PostgreSQL\'s client programs of the server\'s major version (Debian: postgresql-client-15), or point postgres.binDir at them.'])
  }
  // A segment that ends the WAL stops pg_waldump with an error after its last record: expected.
  // Any other failure (a bad segment file, a version mismatch) is the error to show.
  if (r.exitCode !== 0 && !/invalid record length|could not find a valid record|could not (?:find|open) file|invalid magic number|record with incorrect prev-link|contrecord|there is no contrecord|error in WAL record/i.test(String(r.stderr))) {
    throw failure('PG_WALDUMP_FAILED', `pg_waldump ${segment} exited ${r.exitCode}: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`,
      ['Is postgres.binDir the server\'s major version? pg_waldump reads only its own version\'s WAL.'])
  }
  // "desc: COMMIT 2026-11-26 22:53:53.830995 UTC" (also ABORT; both end recovery's search for the target)
  const times = [...String(r.stdout).matchAll(/desc: (?:COMMIT|ABORT) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/g)].map((m) => new Date(`${m[1]!.replace(' ', 'T')}Z`))
  return times.at(-1)
}
