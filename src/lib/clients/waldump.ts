import {childEnvOptions} from './child-env.js'
// pg_waldump is the interface to what a WAL segment holds: here, the time of its last commit.
export async function lastCommitInSegment(binDir: string, dir: string, segment: string): Promise<Date | undefined> {
  const {execa} = await import('execa')
  const r = await execa(`${binDir.replace(/\/$/, '')}/pg_waldump`, ['--path', dir, '--rmgr', 'Transaction', segment, segment], {reject: false, stdin: 'ignore', ...childEnvOptions()})
  // "desc: COMMIT 2026-11-26 22:53:53.830995 UTC" (also ABORT; both end recovery's search for the target)
  const times = [...String(r.stdout).matchAll(/desc: (?:COMMIT|ABORT) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/g)].map((m) => new Date(`${m[1]!.replace(' ', 'T')}Z`))
  return times.at(-1)
}
