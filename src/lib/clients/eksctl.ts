// eksctl is the interface to EKS clusters and node groups (create, scale, get).
import {childEnvOptions, TOOL_ENV} from './child-env.js'
import {which} from '../lab/binaries.js'
import {toolsCacheDir} from '../paths.js'

export const EKSCTL_MODULE = 'github.com/weaveworks/eksctl@v0.215.0'
export const eksctlCacheBin = () => toolsCacheDir('eksctl', 'bin')

/** eksctl from $VAULTCTL_EKSCTL, PATH, or vaultctl's cache (built by `vaultctl lab install --tools eksctl`). */
export const eksctlBinary = (): string | undefined => which(process.env.VAULTCTL_EKSCTL ?? 'eksctl', [eksctlCacheBin()])

export async function eksctl(args: string[], timeoutMs = 60 * 60_000): Promise<{exitCode: number; stdout: string; stderr: string}> {
  const bin = eksctlBinary()
  if (!bin) throw new Error('eksctl is not installed')
  const {execa} = await import('execa')
  const r = await execa(bin, args, {reject: false, stdin: 'ignore', timeout: timeoutMs, ...childEnvOptions({}, TOOL_ENV.eksctl)})
  return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '')}
}

export async function eksctlJson<T>(args: string[]): Promise<T> {
  const r = await eksctl(args, 60_000)
  if (r.exitCode !== 0) throw new Error(`eksctl ${args.slice(0, 2).join(' ')}: ${r.stderr.trim().split('\n').at(-1)}`)
  return JSON.parse(r.stdout) as T
}
