// Where vaultctl keeps things, XDG-style, each overridable by an environment variable.
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const home = () => process.env.HOME ?? homedir()

export const expandHome = (p: string): string => (p === '~' || p.startsWith('~/') ? join(home(), p.slice(1)) : p)

export const userConfigFile = (): string =>
  join(process.env.XDG_CONFIG_HOME ?? join(home(), '.config'), 'vaultctl', 'config.yaml')

export const defaultAuditFile = (): string =>
  process.env.VAULTCTL_AUDIT_FILE ?? join(process.env.XDG_STATE_HOME ?? join(home(), '.local', 'state'), 'vaultctl', 'audit.jsonl')

export const defaultLabDir = (): string =>
  resolve(expandHome(process.env.VAULTCTL_LAB_DIR ?? join(process.env.XDG_DATA_HOME ?? join(home(), '.local', 'share'), 'vaultctl', 'lab')))

/** The config file that `lab up` writes: the `lab` environment. */
export const labConfigFile = (labDir = defaultLabDir()): string => join(labDir, 'vaultctl.yaml')

/** vaultctl's own rendered-file templates (the Helm chart, eksctl ClusterConfig, values). */
export const templatesDir = (): string => fileURLToPath(new URL('../../templates', import.meta.url))

/** Where downloaded or built tools live (helm, the Kubernetes OpenAPI schemas, MinIO). */
export const toolsCacheDir = (...parts: string[]): string => join(process.env.XDG_CACHE_HOME ?? join(home(), '.cache'), 'vaultctl', ...parts)
