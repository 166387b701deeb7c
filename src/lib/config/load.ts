// Finds, parses and validates vaultctl.yaml. Every problem is reported with the exact path of the
// offending key (file:line where the YAML parser knows it) and what was expected.
import {existsSync, readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {parseDocument, isMap, isNode, type Document} from 'yaml'
import type {z} from 'zod'
import {usageError} from '../errors.js'
import {expandHome, labConfigFile, userConfigFile} from '../paths.js'
import {ConfigSchema, type Config, type Environment} from './schema.js'

export type ConfigSource = {path: string; how: 'flag' | 'VAULTCTL_CONFIG' | 'cwd' | 'user' | 'lab' | 'none'}

export type LoadedConfig = {
  source: ConfigSource
  config: Config
  /** Where each environment came from (the lab's own file supplies `lab` when the main file lacks it). */
  origins: Record<string, string>
}

/** The lookup order: --config, VAULTCTL_CONFIG, ./vaultctl.yaml, ~/.config/vaultctl/config.yaml. */
export function findConfig(flag?: string, cwd = process.cwd()): ConfigSource {
  if (flag) return {path: resolve(cwd, expandHome(flag)), how: 'flag'}
  if (process.env.VAULTCTL_CONFIG) return {path: resolve(cwd, expandHome(process.env.VAULTCTL_CONFIG)), how: 'VAULTCTL_CONFIG'}
  const local = resolve(cwd, 'vaultctl.yaml')
  if (existsSync(local)) return {path: local, how: 'cwd'}
  const user = userConfigFile()
  if (existsSync(user)) return {path: user, how: 'user'}
  return {path: labConfigFile(), how: 'none'}
}

export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)'
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('')
}

function lineOf(doc: Document, path: ReadonlyArray<PropertyKey>, text: string): number | undefined {
  // Walk down as far as the path exists; report the deepest node we found.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true)
    if (isNode(node) && node.range) return text.slice(0, node.range[0]).split('\n').length
    if (n > 0 && isMap(doc.getIn(path.slice(0, n - 1) as unknown[], true))) {
      const parent = doc.getIn(path.slice(0, n - 1) as unknown[], true)
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isNode(it.key) && (it.key as {value?: unknown}).value === path[n - 1])
        if (pair && isNode(pair.key) && pair.key.range) return text.slice(0, pair.key.range[0]).split('\n').length
      }
    }
  }
  return undefined
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see the README's config reference)`
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `missing: ${issue.message.replace(/, received undefined$/, '')}`
  return issue.message
}

/** Edit distance, for "did you mean": small words only. */
function distance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
  }
  return d[a.length]![b.length]!
}

/**
 * A union chosen by a key (postgres.kind) fails as a whole when that key is missing, and zod
 * then says nothing of the object's other keys: name the missing key, and a misspelt one.
 */
function discriminatorProblems(issue: z.core.$ZodIssue, data: unknown): {path: PropertyKey[]; message: string}[] | undefined {
  const i = issue as z.core.$ZodIssue & {discriminator?: string; options?: unknown[]}
  if (i.code !== 'invalid_union' || !i.discriminator) return undefined
  const parent = i.path.slice(0, -1)
  let obj: unknown = data
  for (const k of parent) obj = (obj as Record<PropertyKey, unknown> | undefined)?.[k as string]
  if (!obj || typeof obj !== 'object' || i.discriminator in obj) return undefined
  const choices = (i.options ?? []).map((o) => JSON.stringify(o)).join(' or ')
  const near = Object.keys(obj).filter((k) => k !== i.discriminator && distance(k.toLowerCase(), i.discriminator!.toLowerCase()) <= 2)
  return [
    ...near.map((k) => ({path: [...parent, k], message: `unknown key "${k}": did you mean "${i.discriminator}"?`})),
    {path: i.path, message: `missing: "${i.discriminator}" (${choices}) says which kind of ${String(parent.at(-1) ?? 'section')} this is`},
  ]
}

/** Parse and validate config text. Throws a usage error (exit 2) that lists every problem with its path. */
export function parseConfig(text: string, file: string): Config {
  const doc = parseDocument(text, {prettyErrors: true})
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    throw usageError('CONFIG_YAML', `${file}: not valid YAML: ${e.message}`, ['Fix the YAML syntax at the line shown.'])
  }
  const result = ConfigSchema.safeParse(doc.toJS() ?? {})
  if (result.success) return result.data
  const data = doc.toJS() as unknown
  const problems = result.error.issues.flatMap((issue) => {
    const discriminator = discriminatorProblems(issue, data)
    if (discriminator) return discriminator.map((p) => ({path: formatIssuePath(p.path), line: lineOf(doc, p.path, text), message: p.message}))
    // An unknown key's path is its parent; point at the key itself.
    const path = issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0]!] : issue.path
    const line = lineOf(doc, path, text)
    return [{path: formatIssuePath(path), line, message: describeIssue(issue)}]
  })
  const lines = problems.map((p) => `  ${p.path}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`)
  throw usageError('CONFIG_INVALID', `${file} is not a valid vaultctl config:\n${lines.join('\n')}`,
    ['Fix the keys listed above, then run `vaultctl config validate`.'], {file, problems})
}

function readConfigFile(path: string): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw usageError('CONFIG_UNREADABLE', `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      ['Pass an existing file with --config, or unset VAULTCTL_CONFIG.'])
  }
  return parseConfig(text, path)
}

/** Load the config. With no file anywhere, the lab's own file (written by `lab up`) is the config. */
export function loadConfig(flag?: string, cwd = process.cwd()): LoadedConfig {
  const source = findConfig(flag, cwd)
  const labFile = labConfigFile()
  if (source.how === 'none') {
    if (!existsSync(labFile)) {
      return {source, config: {apiVersion: 'vaultctl/v1', environments: {}}, origins: {}}
    }
    const config = readConfigFile(labFile)
    return {source: {path: labFile, how: 'lab'}, config, origins: Object.fromEntries(Object.keys(config.environments).map((k) => [k, labFile]))}
  }
  const config = readConfigFile(source.path)
  const origins: Record<string, string> = Object.fromEntries(Object.keys(config.environments).map((k) => [k, source.path]))
  if (!config.environments.lab && existsSync(labFile) && resolve(labFile) !== source.path) {
    const lab = readConfigFile(labFile).environments.lab
    if (lab) {
      config.environments.lab = lab
      origins.lab = labFile
    }
  }
  return {source, config, origins}
}

export type ResolvedEnvironment = {name: string; env: Environment; loaded: LoadedConfig}

/** Pick the environment: --env, VAULTCTL_ENV, the file's defaultEnvironment, else `lab`. */
export function resolveEnvironment(loaded: LoadedConfig, flag?: string): ResolvedEnvironment {
  const name = flag ?? process.env.VAULTCTL_ENV ?? loaded.config.defaultEnvironment ?? 'lab'
  const env = loaded.config.environments[name]
  if (!env) {
    const known = Object.keys(loaded.config.environments)
    if (name === 'lab') {
      throw usageError('ENV_NOT_FOUND', 'no environment given and the local lab has not been set up yet',
        ['Run `vaultctl lab up` to start the lab (it writes the `lab` environment),', 'or pass --env NAME / --config FILE.'])
    }
    throw usageError('ENV_NOT_FOUND', `environment "${name}" is not defined in ${loaded.source.path}`,
      [known.length ? `Known environments: ${known.join(', ')}.` : 'The config defines no environments.', 'Run `vaultctl env list`.'])
  }
  return {name, env, loaded}
}
