// Saved plans against the lab: a switchover and a Redis failover planned with --plan-out (nothing
// changes), reviewed with `plan show`, run with `apply`; a plan refused after drift (the leader
// changed between plan and apply), for another environment and from another version.
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {FailoverPostgresResult} from '../../src/commands/failover/postgres.js'
import type {FailoverRedisResult} from '../../src/commands/failover/redis.js'
import type {BackupCreateResult} from '../../src/commands/backup/create.js'
import type {BackupListResult} from '../../src/commands/backup/list.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {redisCommand} from '../../src/lib/clients/redis.js'
import {parseClusterNodes} from '../../src/lib/redis/cluster.js'
import type {SavedPlan} from '../../src/lib/plan/saved.js'
import {eventually, labCli, labPorts, patroniApi, status} from '../helpers/lab.js'

const dir = mkdtempSync(join(tmpdir(), 'vaultctl-plans-'))
const healthy = () => eventually('a healthy cluster', 120_000, async () => (await status(['--component', 'postgres'])).code === 0)
async function cluster(): Promise<{leader: string; timeline: number; replicas: string[]}> {
  for (const m of ['pg-1', 'pg-2', 'pg-3']) {
    try {
      const c = await getCluster(patroniApi(m), 1000)
      const l = c.members.find((x) => ['leader', 'master', 'primary'].includes(x.role))!
      return {leader: l.name, timeline: l.timeline!, replicas: c.members.filter((x) => x !== l).map((x) => x.name).sort()}
    } catch {
      // the next member's API
    }
  }
  throw new Error('no Patroni API answers')
}

describe('saved plans (--plan-out, plan show, apply)', () => {
  it('a switchover planned to a file changes nothing; apply runs exactly that plan', async () => {
    await healthy()
    const before = await cluster()
    const candidate = before.replicas[0]!
    const file = join(dir, 'switchover.json')
    const planned = await labCli(['failover', 'postgres', '--candidate', candidate, '--wait-replicas', '--plan-out', file])
    expect(planned.code, planned.stderr).toBe(0)
    expect(planned.stdout).toMatch(/Plan saved to .*switchover\.json; nothing was changed/)
    expect(await cluster()).toEqual(before)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan
    expect(saved).toMatchObject({format: 'vaultctl-plan/v1', env: 'lab', commandId: 'failover:postgres', argv: ['--candidate', candidate, '--wait-replicas']})
    expect(saved.plan.typed).toBe(true)
    expect(saved.plan.steps[0]!.op).toMatchObject({kind: 'patroni.request', method: 'POST', path: '/switchover', body: {leader: before.leader, candidate}})
    expect(saved.state).toMatchObject({leader: before.leader, timeline: before.timeline})

    const shown = await labCli(['plan', 'show', file])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/curl -s --cacert \S+ -u vaultctl:"\$PATRONI_REST_PASSWORD" -XPOST https:\/\//)
    expect(shown.stdout).toContain(`"candidate":"${candidate}"`)
    expect(shown.stdout).toMatch(/Every step is a typed operation/)

    const applied = await labCli(['apply', file, '--yes', '--json'])
    expect(applied.code, applied.stderr).toBe(0)
    const res = applied.json<FailoverPostgresResult>()
    expect(res.newLeader).toBe(candidate)
    expect(res.newTimeline).toBeGreaterThan(before.timeline)
    expect(res.plan.hash).toBe(saved.plan.hash)
    expect((await cluster()).leader).toBe(candidate)
  })

  it('refuses a plan when the leader changed between plan and apply, and says what changed', async () => {
    await healthy()
    const before = await cluster()
    const file = join(dir, 'stale.json')
    expect((await labCli(['failover', 'postgres', '--candidate', before.replicas[0]!, '--plan-out', file])).code).toBe(0)
    // someone else switches over in between
    const other = await labCli(['failover', 'postgres', '--candidate', before.replicas[1]!, '--yes', '--wait-replicas'])
    expect(other.code, other.stderr).toBe(0)
    await healthy()
    const moved = await cluster()
    const r = await labCli(['apply', file, '--yes'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/no longer fits what vaultctl observes now/)
    expect(r.stderr).toContain(`changed: leader: "${before.leader}" -> "${moved.leader}"`)
    expect(r.stderr).toMatch(/Nothing was changed/)
    expect(await cluster()).toEqual(moved)
  })

  it('refuses a plan for another environment, from another version, or that is no plan', async () => {
    const file = join(dir, 'again.json')
    expect((await labCli(['failover', 'postgres', '--plan-out', file])).code).toBe(0)
    const otherEnv = await labCli(['apply', file, '--env', 'prod', '--yes'])
    expect(otherEnv.code).toBe(3)
    expect(otherEnv.stderr).toMatch(/made for environment "lab", not "prod"/)
    const old = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan
    writeFileSync(join(dir, 'old.json'), JSON.stringify({...old, vaultctl: '0.0.1'}))
    const version = await labCli(['apply', join(dir, 'old.json'), '--yes'])
    expect(version.code).toBe(3)
    expect(version.stderr).toMatch(/made by vaultctl 0\.0\.1/)
    writeFileSync(join(dir, 'junk.json'), '{"hello": 1}')
    const junk = await labCli(['apply', join(dir, 'junk.json')])
    expect(junk.code).toBe(2)
    expect(junk.stderr).toMatch(/is not a vaultctl plan/)
  })

  it('a Redis Cluster failover planned to a file, then applied', async () => {
    // Whichever node is a master now: earlier tests (drills, failovers) move the roles around.
    const ports = labPorts()
    const nodes = parseClusterNodes(String(await redisCommand({host: '127.0.0.1', port: ports['redis-1']!}, 'CLUSTER', 'NODES')))
    const master = nodes.find((n) => n.role === 'master' && !n.failing)!.address
    const file = join(dir, 'redis.json')
    const planned = await labCli(['failover', 'redis', '--master', master, '--plan-out', file, '--json'])
    expect(planned.code, planned.stderr).toBe(0)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan
    expect(saved.plan.steps.map((s) => s.op?.kind)).toEqual(['redis.command', 'redis.await-failover'])
    const replica = (saved.plan.steps[0]!.op as {node: string}).node
    const applied = await labCli(['apply', file, '--json'])
    expect(applied.code, applied.stderr).toBe(0)
    const res = applied.json<FailoverRedisResult>()
    expect(res.replica).toBe(replica)
    expect(res.after?.find((n) => n.address === replica)?.role).toBe('master')
    // and back, so that the roles are as this test found them
    const back = await labCli(['failover', 'redis', '--replica', master, '--json'])
    expect(back.code, back.stderr).toBe(0)
  })

  it('lab up planned to a file starts nothing; apply starts exactly that; a second apply is drift', async () => {
    const labDir = join(dir, 'lab-s3')
    const file = join(dir, 'lab-up.json')
    const planned = await labCli(['lab', 'up', '--dir', labDir, '--only', 's3', '--base-port', '22000', '--plan-out', file])
    expect(planned.code, planned.stderr).toBe(0)
    expect(existsSync(labDir)).toBe(false)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan
    expect(saved.plan.typed).toBe(true)
    expect(saved.plan.steps.map((s) => s.op!.kind)).toEqual(['lab.prepare', 'daemon.start', 's3.versioned-buckets', 'file.write'])
    // The environment file printed is the one written.
    const envStep = saved.plan.steps.find((s) => s.op!.kind === 'file.write')!
    try {
      const applied = await labCli(['apply', file, '--json'])
      expect(applied.code, applied.stderr).toBe(0)
      expect(envStep.manual).toContain(readFileSync(join(labDir, 'vaultctl.yaml'), 'utf8').trim())
      expect((await labCli(['lab', 'status', '--dir', labDir])).code).toBe(0)
      const again = await labCli(['apply', file, '--json'])
      expect(again.code).toBe(3)
      expect(again.stdout).toContain('changed: running: [] -> [\\"s3\\"]')
    } finally {
      await labCli(['lab', 'down', '--dir', labDir, '--purge', '--yes'])
    }
  })

  it('a base backup planned to a file, then applied: the backup exists with its manifest', async () => {
    await healthy()
    const file = join(dir, 'backup.json')
    const planned = await labCli(['backup', 'create', '--plan-out', file, '--json'])
    expect(planned.code, planned.stderr).toBe(0)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan
    expect(saved.plan.typed).toBe(true)
    expect(saved.plan.steps.map((s) => s.op?.kind)).toEqual(['pg.basebackup-to-s3', 'backup.write-manifest', 'backup.mark-end'])
    const applied = await labCli(['apply', file, '--json'])
    expect(applied.code, applied.stderr).toBe(0)
    const res = applied.json<BackupCreateResult>()
    expect(res.manifest?.sha256).toMatch(/^[0-9a-f]{64}$/)
    const list = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    expect(list.backups.map((b) => b.id)).toContain(res.manifest!.id)
  })
})
