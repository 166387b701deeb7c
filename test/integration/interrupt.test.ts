// An interrupted `lab up` (kill -9, or Ctrl-C) can be re-run to completion.
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'
import {portInUse} from '../../src/lib/clients/process.js'
import {BIN} from '../helpers/cli.js'
import {eventually, labCli, sleep, status} from '../helpers/lab.js'

const dirs: string[] = []

function startLabUp(dir: string, basePort: number) {
  const child = spawn(process.execPath, [BIN, 'lab', 'up', '--dir', dir, '--only', 'redis', '--base-port', String(basePort)], {
    env: {...process.env, NO_COLOR: '1', VAULTCTL_AUDIT_FILE: inject('auditFile')}, stdio: 'ignore',
  })
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? -1 : null))))
  return {child, exited}
}

afterAll(async () => {
  for (const d of dirs) await labCli(['lab', 'down', '--dir', d, '--purge', '--yes'])
})

describe('interrupted lab up', () => {
  it('kill -9 in the middle of starting the Redis nodes, then a re-run completes the cluster', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vaultctl-kill-')), 'lab')
    dirs.push(dir)
    const {child, exited} = startLabUp(dir, 16000)
    await eventually('the first redis node started', 20_000, async () => existsSync(join(dir, 'run', 'redis-2.pid')))
    child.kill('SIGKILL')
    expect(await exited).toBe(-1)
    // Part of it is running, the cluster is not formed.
    expect((await labCli(['lab', 'status', '--dir', dir])).code).toBe(1)
    const again = await labCli(['lab', 'up', '--dir', dir])
    expect(again.code).toBe(0)
    expect((await labCli(['lab', 'status', '--dir', dir])).code).toBe(0)
    const {code, res} = await status([], dir)
    expect(code).toBe(0)
    expect(res.components.find((c) => c.component === 'redis')?.rows[0]?.facts).toMatchObject({clusterState: 'ok', slotsOk: 16_384, knownNodes: 6})
  })

  it('a daemon spawned just before a kill -9 (its pid file never written) is adopted by the re-run, and stopped by lab down', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vaultctl-orphan-')), 'lab')
    dirs.push(dir)
    // A lab made once (its files, certificates), stopped; then exactly what `lab up` would spawn for
    // redis-3, started the way spawnDaemon does, minus the pid file.
    expect((await labCli(['lab', 'up', '--dir', dir, '--only', 'redis', '--base-port', '18000'])).code).toBe(0)
    expect((await labCli(['lab', 'down', '--dir', dir])).code).toBe(0)
    const dry = await labCli(['lab', 'up', '--dir', dir, '--dry-run', '--json'])
    const plan = (JSON.parse(dry.stdout) as {plan: {steps: {id: string; op: {spec: {command: string; args: string[]; pidFile: string}}}[]}}).plan
    const spec = plan.steps.find((s) => s.id === 'start-redis-3')!.op.spec
    mkdirSync(join(dir, 'redis-3'), {recursive: true})
    const orphan = spawn(spec.command, spec.args, {env: {PATH: process.env.PATH, VAULTCTL_LAB_PIDFILE: spec.pidFile}, detached: true, stdio: 'ignore'})
    orphan.unref()
    await eventually('the orphan listens', 10_000, () => portInUse(18_703))
    expect(existsSync(spec.pidFile)).toBe(false)
    const up = await labCli(['lab', 'up', '--dir', dir])
    expect(up.code, up.stderr).toBe(0)
    expect(Number(readFileSync(spec.pidFile, 'utf8').split('\n')[0])).toBe(orphan.pid)
    expect((await status([], dir)).code).toBe(0)
    const down = await labCli(['lab', 'down', '--dir', dir])
    expect(down.code, down.stderr).toBe(0)
    await eventually('the orphan stopped', 10_000, async () => !existsSync(`/proc/${orphan.pid}`) || /\) Z /.test(readFileSync(`/proc/${orphan.pid}/stat`, 'utf8')))
  })

  it('Ctrl-C stops after the current step, records "interrupted" in the audit log, and a re-run completes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vaultctl-int-')), 'lab')
    dirs.push(dir)
    const {child, exited} = startLabUp(dir, 17000)
    await eventually('the first redis node started', 20_000, async () => existsSync(join(dir, 'run', 'redis-1.pid')))
    child.kill('SIGINT')
    expect(await exited).toBe(1)
    await sleep(100)
    const audit = readFileSync(inject('auditFile'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {argv: string[]; status: string; steps: {id: string; status: string}[]})
    const rec = audit.reverse().find((a) => a.argv.includes(dir))!
    expect(rec.status).toBe('interrupted')
    expect(rec.steps.some((s) => s.status === 'not-run' || s.status === 'interrupted')).toBe(true)
    expect(rec.steps.find((s) => s.id === 'prepare')?.status).toBe('succeeded')
    const again = await labCli(['lab', 'up', '--dir', dir])
    expect(again.code).toBe(0)
    expect((await status([], dir)).code).toBe(0)
  })
})
