// Runs the built CLI as an operator would (a child process), with a controlled environment.
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {checkResult} from './result-schema.js'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export type CliResult = {code: number; stdout: string; stderr: string; json<T = unknown>(): T}

export function vaultctl(args: string[], opts: {env?: Record<string, string | undefined>; input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries({...process.env, NO_COLOR: '1', ...opts.env})) if (v !== undefined) env[k] = v
    const child = spawn(process.execPath, [BIN, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      try {
        checkResult(args, code ?? -1, stdout)
      } catch (error) {
        reject(error)
        return
      }
      resolve({code: code ?? -1, stdout, stderr, json: <T>() => JSON.parse(stdout) as T})
    })
    child.stdin.end(opts.input ?? '')
  })
}
