// Where a tool is the interface (promtool, pg_basebackup, eksctl, helm): execa, imported lazily.
import {childEnvOptions} from './child-env.js'

export type ExecResult = {stdout: string; stderr: string; exitCode: number}

export async function run(file: string, args: string[], opts: {cwd?: string; env?: Record<string, string>; pass?: readonly string[]; timeoutMs?: number; uid?: number; gid?: number; signal?: AbortSignal} = {}): Promise<ExecResult> {
  const {execa} = await import('execa')
  const r = await execa(file, args, {cwd: opts.cwd, ...childEnvOptions(opts.env, opts.pass), timeout: opts.timeoutMs, reject: false, uid: opts.uid, gid: opts.gid, stdin: 'ignore', ...(opts.signal ? {cancelSignal: opts.signal} : {})})
  return {stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1}
}
