// The small, fast entry point for archive_command and restore_command:
//   vaultctl wal push PATH [--env E] [--config F]
//   vaultctl wal fetch NAME DEST [--env E] [--config F]
// It loads only config, the S3 client and this code (no oclif). Built also as one bundled file
// (dist/wal.mjs) that the lab's PostgreSQL runs. Exit 0 on success; 1 on failure or, for fetch,
// when the file is not in the archive (PostgreSQL asks for files that may not exist).
import {loadConfig, resolveEnvironment} from './lib/config/load.js'
import {parseConfig} from './lib/config/parse.js'
import {redact} from './lib/config/secrets.js'
import {VaultctlError, errorMessage} from './lib/errors.js'
import {backupTarget} from './lib/backup/location.js'
import {fetchWal, pushWal} from './lib/backup/wal.js'

function parseArgs(argv: string[]): {positional: string[]; env?: string; config?: string; json: boolean} {
  const positional: string[] = []
  let env: string | undefined
  let config: string | undefined
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--env' || a === '-e') env = argv[++i]
    else if (a.startsWith('--env=')) env = a.slice(6)
    else if (a === '--config') config = argv[++i]
    else if (a.startsWith('--config=')) config = a.slice(9)
    else if (a === '--json') json = true
    else positional.push(a)
  }
  return {positional, env, config, json}
}

export async function walMain(argv: string[]): Promise<number> {
  const {positional, env, config, json} = parseArgs(argv)
  const [verb, ...rest] = positional
  try {
    if ((verb === 'push' && rest.length !== 1) || (verb === 'fetch' && rest.length !== 2) || (verb !== 'push' && verb !== 'fetch')) {
      process.stderr.write('usage: vaultctl wal push PATH | vaultctl wal fetch NAME DEST  [--env E] [--config F] [--json]\n')
      return 2
    }
    const resolved = resolveEnvironment(loadConfig(config, process.cwd(), parseConfig), env)
    const {location, conn, walCompression} = backupTarget(resolved.env, resolved.name)
    const r = verb === 'push' ? await pushWal(conn, location, rest[0]!, walCompression) : await fetchWal(conn, location, rest[0]!, rest[1]!)
    if (json) process.stdout.write(JSON.stringify(r) + '\n')
    else if (r.outcome === 'missing') process.stderr.write(`vaultctl wal fetch: ${r.name} is not in ${r.url.replace(/[^/]+$/, '')}\n`)
    if (r.outcome === 'diverged') process.stderr.write(`vaultctl wal push: WARNING: ${r.detail}\n`)
    return r.outcome === 'missing' ? 1 : 0
  } catch (error) {
    const e = error instanceof VaultctlError ? error : undefined
    if (json) process.stdout.write(JSON.stringify({error: e ? e.toJSON() : {code: 'INTERNAL', message: errorMessage(error)}}) + '\n')
    process.stderr.write(`vaultctl wal ${verb}: ${redact(errorMessage(error))}\n`)
    for (const s of e?.suggestions ?? []) process.stderr.write(`  → ${redact(s)}\n`)
    return e?.exit ?? 1
  }
}

// Run directly when bundled (dist/wal.mjs); bin/run.js imports walMain otherwise.
if (process.env.VAULTCTL_WAL_BUNDLE === '1' || /\/wal(-bundle)?\.mjs$/.test(import.meta.url)) {
  process.exitCode = await walMain(process.argv.slice(2))
}
