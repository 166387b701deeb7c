// Dry runs print the plan and touch nothing; refusals change nothing; each real run is audited.
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, inject, it} from 'vitest'
import type {PlanData} from '../../src/lib/plan/types.js'
import {vaultctl} from '../helpers/cli.js'
import {labCli, labEnv} from '../helpers/lab.js'

const auditLines = () => (existsSync(inject('auditFile')) ? readFileSync(inject('auditFile'), 'utf8').split('\n').filter(Boolean) : [])

describe('dry run', () => {
  it('lab up --dry-run on a new dir prints every step with its manual command and creates nothing', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vaultctl-dry-')), 'lab')
    const before = auditLines().length
    const r = await labCli(['lab', 'up', '--dir', dir, '--dry-run', '--base-port', '20000', '--json'])
    expect(r.code).toBe(0)
    const {plan} = r.json<{dryRun: true; plan: PlanData}>()
    expect(plan.steps.map((s) => s.id)).toEqual(expect.arrayContaining(['prepare', 'start-etcd', 'start-patroni-1', 'redis-cluster', 'start-s3', 's3-buckets', 'prometheus-backfill', 'start-prometheus', 'lab-environment']))
    expect(plan.steps.find((s) => s.id === 'start-etcd')?.manual).toMatch(/^\S*etcd --name lab .*--listen-client-urls http:\/\/127\.0\.0\.1:20379/)
    expect(plan.steps.find((s) => s.id === 'redis-cluster')?.manual).toMatch(/redis-cli --cluster create 127.0.0.1:20701 .* --cluster-replicas 1/)
    expect(plan.steps.every((s) => s.manual.length > 0)).toBe(true)
    expect(existsSync(dir)).toBe(false)
    expect(auditLines().length).toBe(before)
  })

  it('lab down --dry-run on the running lab stops nothing', async () => {
    const r = await labCli(['lab', 'down', '--dry-run'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/stop patroni-1/)
    expect(r.stdout).toMatch(/Dry run: nothing was changed/)
    const st = await labCli(['lab', 'status'])
    expect(st.code).toBe(0)
  })
})

describe('refusals change nothing', () => {
  it('lab down --purge with no terminal and no --yes is refused (exit 3) and the lab keeps running', async () => {
    const before = auditLines().length
    const r = await labCli(['lab', 'down', '--purge'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/refusing 1 destructive step .*no terminal/)
    expect(r.stderr).toMatch(/--yes/)
    expect((await labCli(['lab', 'status'])).code).toBe(0)
    const after = auditLines()
    expect(after.length).toBe(before + 1)
    expect(JSON.parse(after.at(-1)!)).toMatchObject({command: 'lab down', status: 'refused'})
  })

  it('a port taken by another program is refused (exit 3) naming it, before anything starts', async () => {
    const server = createServer().listen(25379, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    try {
      const dir = join(mkdtempSync(join(tmpdir(), 'vaultctl-port-')), 'lab')
      const r = await vaultctl(['lab', 'up', '--dir', dir, '--base-port', '25000', '--only', 'postgres'], {env: labEnv()})
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/127\.0\.0\.1:25379 is free for etcd.*no longer holds: port 25379 is taken by pid \d+/)
      expect(r.stderr).toMatch(/--base-port/)
      expect(existsSync(dir)).toBe(false)
    } finally {
      server.close()
    }
  })
})

describe('audit', () => {
  it('a real run appends a record with the plan hash and per-step outcomes; audit list shows it', async () => {
    const r = await labCli(['lab', 'up', '--json'])
    expect(r.code).toBe(0)
    const out = r.json<{execution: {planHash: string; status: string}}>()
    expect(out.execution.status).toBe('succeeded')
    const list = await labCli(['audit', 'list', '--since', '1h', '--json'])
    const recs = list.json<{records: {planHash: string; command: string; user: string; host: string; steps: unknown[]}[]}>().records
    const mine = recs.find((x) => x.planHash === out.execution.planHash)
    expect(mine).toMatchObject({command: 'lab up'})
    expect(mine!.steps.length).toBeGreaterThan(0)
    expect(mine!.user).toBeTruthy()
  })
})
