// Finds and loads vaultctl.yaml. The text is parsed and checked by parse.ts (yaml + zod); a text
// already checked (same bytes, same schema) comes from a cache of checked configs, so that local
// commands start without loading either library.
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {usageError} from '../errors.js'
import {expandHome, labConfigFile, toolsCacheDir, userConfigFile} from '../paths.js'
import type {Config, Environment} from './schema.js'

/** parse.ts's parseConfig; `cached` wraps one so that it runs only for a text not checked before. */
export type ConfigParser = ((text: string, file: string) => Config) & {cache?: boolean}

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

let schemaStamp: string | undefined
/** The checked config of this exact text under this exact schema (the compiled schema's bytes). */
function cacheKey(text: string, file: string): string | undefined {
  try {
    schemaStamp ??= createHash('sha256').update(readFileSync(fileURLToPath(new URL('./schema.js', import.meta.url)))).digest('hex')
  } catch {
    return undefined // running from sources (tests): no cache
  }
  return createHash('sha256').update(`${schemaStamp}\0${file}\0${text}`).digest('hex').slice(0, 32)
}

const CACHE_KEEP = 64

function cached(key: string | undefined): Config | undefined {
  if (!key) return undefined
  try {
    return JSON.parse(readFileSync(join(toolsCacheDir('config'), `${key}.json`), 'utf8')) as Config
  } catch {
    return undefined
  }
}

function remember(key: string | undefined, config: Config): void {
  if (!key) return
  try {
    const dir = toolsCacheDir('config')
    mkdirSync(dir, {recursive: true, mode: 0o700})
    const tmp = join(dir, `.${key}.${process.pid}`)
    writeFileSync(tmp, JSON.stringify(config), {mode: 0o600})
    chmodSync(tmp, 0o600)
    renameSync(tmp, join(dir, `${key}.json`))
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'))
    if (files.length > CACHE_KEEP) {
      for (const f of files.map((f) => ({f, t: statSync(join(dir, f)).mtimeMs})).sort((a, b) => a.t - b.t).slice(0, files.length - CACHE_KEEP)) rmSync(join(dir, f.f), {force: true})
    }
  } catch {
    // a cache only: a read-only home still works, just slower
  }
}

function readConfigFile(path: string, parse: ConfigParser): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw usageError('CONFIG_UNREADABLE', `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      ['Pass an existing file with --config, or unset VAULTCTL_CONFIG.'])
  }
  const key = parse.cache ? cacheKey(text, path) : undefined
  const hit = cached(key)
  if (hit) return hit
  const config = parse(text, path)
  remember(key, config)
  return config
}

/** Load the config. With no file anywhere, the lab's own file (written by `lab up`) is the config. */
export function loadConfig(flag: string | undefined, cwd: string, parse: ConfigParser): LoadedConfig {
  const source = findConfig(flag, cwd)
  const labFile = labConfigFile()
  if (source.how === 'none') {
    if (!existsSync(labFile)) {
      return {source, config: {apiVersion: 'vaultctl/v1', environments: {}}, origins: {}}
    }
    const config = readConfigFile(labFile, parse)
    return {source: {path: labFile, how: 'lab'}, config, origins: Object.fromEntries(Object.keys(config.environments).map((k) => [k, labFile]))}
  }
  const config = readConfigFile(source.path, parse)
  const origins: Record<string, string> = Object.fromEntries(Object.keys(config.environments).map((k) => [k, source.path]))
  if (!config.environments.lab && existsSync(labFile) && resolve(labFile) !== source.path) {
    const lab = readConfigFile(labFile, parse).environments.lab
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
