// helm is the interface to charts and releases: template, lint, status, get, upgrade --install.
import {childEnvOptions, TOOL_ENV} from './child-env.js'
import {which} from '../lab/binaries.js'
import {toolsCacheDir} from '../paths.js'

export const HELM_MODULE = 'helm.sh/helm/v3/cmd/helm@v3.22.0'
export const helmCacheBin = () => toolsCacheDir('helm', 'bin')

/** helm from PATH or from vaultctl's cache (built by `vaultctl lab install --tools helm`). */
export const helmBinary = (): string | undefined => process.env.VAULTCTL_HELM ?? which('helm', [helmCacheBin()])

export type HelmRun = {exitCode: number; stdout: string; stderr: string}

export async function helm(bin: string, args: string[], opts: {timeoutMs?: number; env?: Record<string, string>} = {}): Promise<HelmRun> {
  const {execa} = await import('execa')
  const r = await execa(bin, args, {reject: false, stdin: 'ignore', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 << 20,
    ...childEnvOptions({HELM_CACHE_HOME: toolsCacheDir('helm', 'cache'), HELM_CONFIG_HOME: toolsCacheDir('helm', 'config'), HELM_DATA_HOME: toolsCacheDir('helm', 'data'), ...opts.env}, TOOL_ENV.helm)})
  return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '')}
}

/** helm with a values file holding `valuesYaml` (written to a temporary directory): `args(valuesFile)`. */
export async function helmWithValues(bin: string, args: (valuesFile: string) => string[], valuesYaml: string): Promise<HelmRun> {
  const {withTempDir} = await import('./files.js')
  const {writeFileSync} = await import('node:fs')
  return withTempDir('vaultctl-helm-', async (dir) => {
    writeFileSync(`${dir}/values.yaml`, valuesYaml)
    return helm(bin, args(`${dir}/values.yaml`))
  })
}

/** "v3.22.0+g..." -> 3. */
export async function helmMajor(bin: string): Promise<{major: number; version: string}> {
  const r = await helm(bin, ['version', '--short'])
  const m = /v(\d+)\.(\d+)(\.\d+)?/.exec(r.stdout)
  if (r.exitCode !== 0 || !m) throw new Error(`helm version failed: ${r.stderr || r.stdout}`)
  return {major: Number(m[1]), version: m[0]}
}
