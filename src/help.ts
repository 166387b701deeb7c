// The fast path for help. Loading oclif costs ~75 ms before it prints a word, which alone breaks
// the start-up budget (median `vaultctl --help` <= 3x `node -e 0`, see bench/). Help needs only
// the manifest oclif writes at build time, so this renders it with node:fs alone, in oclif's
// layout. Anything it does not recognise falls through to oclif.
import {readFileSync} from 'node:fs'

type ManifestFlag = {name: string; char?: string; description?: string; summary?: string; type: 'boolean' | 'option'; helpGroup?: string;
  options?: string[]; multiple?: boolean; default?: unknown; helpValue?: string; hidden?: boolean; allowNo?: boolean}
type ManifestCommand = {id: string; summary?: string; description?: string; examples?: string[]; flags: Record<string, ManifestFlag>; hidden?: boolean; args?: Record<string, {name: string; description?: string; required?: boolean}>}
type Manifest = {version: string; commands: Record<string, ManifestCommand>}
type Pkg = {name: string; version: string; description?: string; oclif: {bin: string; topics?: Record<string, {description: string}>}}

const WIDTH = Math.min(process.stdout.columns || 100, 120)

function wrap(text: string, indent: number, width = WIDTH): string {
  const words = text.split(/\s+/).filter(Boolean)
  const lines: string[] = []
  let line = ''
  for (const w of words) {
    if (line && indent + line.length + 1 + w.length > width) {
      lines.push(line)
      line = w
    } else line = line ? `${line} ${w}` : w
  }
  if (line) lines.push(line)
  return lines.join('\n' + ' '.repeat(indent))
}

function twoColumns(rows: [string, string][], indent = 2): string {
  const w = Math.min(Math.max(...rows.map(([a]) => a.length)), 40)
  return rows.map(([a, b]) => {
    const left = ' '.repeat(indent) + a
    if (!b) return left
    const pad = a.length > w ? '\n' + ' '.repeat(indent + w + 2) : ' '.repeat(w - a.length + 2)
    return left + pad + wrap(b, indent + w + 2)
  }).join('\n')
}

function flagUsage(f: ManifestFlag): string {
  const name = `${f.char ? `-${f.char}, ` : '    '}--${f.name}`
  if (f.type === 'boolean') return name
  const value = f.helpValue ?? (f.options ? f.options.join('|') : f.name.toUpperCase().replace(/-/g, '_'))
  return `${name}=${f.options ? `<option>` : `<${value.toLowerCase()}>`}${f.multiple ? '...' : ''}`
}

function flagDesc(f: ManifestFlag): string {
  let d = f.summary ?? f.description ?? ''
  if (f.options) d += `\n<options: ${f.options.join('|')}>`
  return d.replace(/\n/g, ' ')
}

function commandHelp(pkg: Pkg, c: ManifestCommand): string {
  const bin = pkg.oclif.bin
  const id = c.id.replace(/:/g, ' ')
  const flags = Object.values(c.flags).filter((f) => !f.hidden)
  const own = flags.filter((f) => f.helpGroup !== 'GLOBAL')
  const global = flags.filter((f) => f.helpGroup === 'GLOBAL')
  const args = Object.values(c.args ?? {})
  const out: string[] = []
  if (c.summary) out.push(c.summary, '')
  out.push('USAGE', `  $ ${bin} ${id}${args.map((a) => ` ${a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`}`).join('')}${flags.length ? ' [FLAGS]' : ''}`, '')
  if (args.length) out.push('ARGUMENTS', twoColumns(args.map((a) => [a.name.toUpperCase(), a.description ?? ''])), '')
  if (own.length) out.push('FLAGS', twoColumns(own.map((f) => [flagUsage(f), flagDesc(f)])), '')
  if (global.length) out.push('GLOBAL FLAGS', twoColumns(global.map((f) => [flagUsage(f), flagDesc(f)])), '')
  if (c.description) out.push('DESCRIPTION', '  ' + wrap(c.description, 2), '')
  if (c.examples?.length) out.push('EXAMPLES', ...c.examples.map((e) => `  $ ${e.replace('<%= config.bin %>', bin)}`), '')
  return out.join('\n')
}

function listing(pkg: Pkg, m: Manifest, prefix: string): string {
  const bin = pkg.oclif.bin
  const depth = prefix ? prefix.split(':').length : 0
  const ids = Object.values(m.commands).filter((c) => !c.hidden && (prefix ? c.id.startsWith(prefix + ':') : true)).map((c) => c.id)
  const topics = new Map<string, string>()
  const commands: [string, string][] = []
  for (const id of ids.sort()) {
    const parts = id.split(':')
    if (parts.length > depth + 1) {
      const t = parts.slice(0, depth + 1).join(':')
      topics.set(t, pkg.oclif.topics?.[t]?.description ?? '')
    } else commands.push([id.replace(/:/g, ' '), m.commands[id]!.summary ?? ''])
  }
  const out: string[] = []
  if (!prefix) out.push(pkg.description ?? '', '', 'VERSION', `  ${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`, '')
  else if (pkg.oclif.topics?.[prefix]) out.push(pkg.oclif.topics[prefix].description, '')
  out.push('USAGE', `  $ ${bin} ${prefix ? prefix.replace(/:/g, ' ') + ' ' : ''}COMMAND`, '')
  if (topics.size) out.push('TOPICS', twoColumns([...topics].map(([t, d]) => [t.replace(/:/g, ' '), d])), '')
  if (commands.length) out.push('COMMANDS', twoColumns(commands), '')
  return out.join('\n')
}

/** Print help for argv if it is a help request we can answer; false means: let oclif handle it. */
export function printHelp(argv: string[], root: URL): boolean {
  const words = argv.filter((a) => !a.startsWith('-'))
  if (words[0] === 'help') words.shift()
  let pkg: Pkg
  let m: Manifest
  try {
    pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Pkg
    m = JSON.parse(readFileSync(new URL('oclif.manifest.json', root), 'utf8')) as Manifest
  } catch {
    return false
  }
  const id = words.join(':')
  const cmd = m.commands[id]
  if (cmd) process.stdout.write(commandHelp(pkg, cmd) + '\n')
  else if (!id || Object.keys(m.commands).some((c) => c.startsWith(id + ':'))) process.stdout.write(listing(pkg, m, id) + '\n')
  else return false
  return true
}
