// ../shared/fixtures (real upstream schemas, read in place, never copied into the repo): beside
// this checkout, or beside the checkout it was cloned from (a clean clone in a temporary directory),
// or where $VAULTCTL_FIXTURES says.
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'

const repo = resolve(import.meta.dirname, '../..')

function originDir(): string | undefined {
  try {
    const url = execFileSync('git', ['-C', repo, 'config', '--get', 'remote.origin.url'], {encoding: 'utf8'}).trim()
    const path = url.replace(/^file:\/\//, '')
    return isAbsolute(path) ? path : undefined
  } catch {
    return undefined
  }
}

export function fixturesDir(): string {
  const candidates = [process.env.VAULTCTL_FIXTURES, join(repo, '..', 'shared', 'fixtures'), ...(originDir() ? [join(originDir()!, '..', 'shared', 'fixtures')] : [])]
    .filter((c): c is string => Boolean(c))
  const found = candidates.find((c) => existsSync(c))
  if (!found) throw new Error(`the shared fixtures are not found (looked in ${candidates.join(', ')}): set VAULTCTL_FIXTURES to ../shared/fixtures`)
  return found
}
