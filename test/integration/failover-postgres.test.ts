// `vaultctl failover postgres` against the lab's real 3-member Patroni cluster.
import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {getCluster, patchConfig} from '../../src/lib/clients/patroni.js'
import {withPg} from '../../src/lib/clients/postgres.js'
import type {FailoverPostgresResult} from '../../src/commands/failover/postgres.js'
import {BIN} from '../helpers/cli.js'
import {childPid, eventually, labCli, labEnv, labUpIfFailed, patroniApi, pgConn, pidOf, postmasterPid, protectedLabConfig, sleep, status} from '../helpers/lab.js'

const api = () => patroniApi('pg-1')
const anyApi = async () => {
  for (const m of ['pg-1', 'pg-2', 'pg-3']) {
    try {
      await getCluster(patroniApi(m), 1000)
      return patroniApi(m)
    } catch {
      // next
    }
  }
  throw new Error('no Patroni API answers')
}
const topology = async () => {
  const c = await getCluster(await anyApi())
  const leader = c.members.find((m) => m.role === 'leader' || m.role === 'master' || m.role === 'primary')!
  return {c, leader: leader.name, timeline: leader.timeline!, replicas: c.members.filter((m) => m !== leader).map((m) => m.name).sort()}
}
const healthy = async () => (await status(['--component', 'postgres'])).code === 0
const failover = async (args: string[]) => {
  const r = await labCli(['failover', 'postgres', '--json', ...args])
  return {code: r.code, stderr: r.stderr, res: r.json<FailoverPostgresResult & {error?: {code: string; message: string; suggestions: string[]}}>()}
}
const inRecovery = (member: string) => withPg(pgConn(member), async (c) => (await c.query<{r: boolean}>('select pg_is_in_recovery() as r')).rows[0]!.r)

describe('failover postgres', () => {
  it('--dry-run prints the plan with the manual commands and changes nothing', async () => {
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    const {code, res} = await failover(['--dry-run'])
    expect(code).toBe(0)
    expect(res.dryRun).toBe(true)
    const manual = res.plan.steps.map((s) => s.manual).join('\n')
    expect(manual).toMatch(new RegExp(`curl -s --cacert \\S+/tls/ca.crt -u vaultctl:"\\$PATRONI_REST_PASSWORD" -XPOST https://127.0.0.1:\\d+/switchover -d '\\{"leader":"${before.leader}"\\}'`))
    expect(manual).toMatch(/patronictl -c \S+patroni.yml switchover vault-lab --leader/)
    await sleep(500)
    const after = await topology()
    expect({leader: after.leader, timeline: after.timeline, replicas: after.replicas}).toEqual({leader: before.leader, timeline: before.timeline, replicas: before.replicas})
  })

  it('on a protected environment: refused without --confirm (exit 3), done with --confirm ENV', async () => {
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    const cfg = protectedLabConfig()
    const refused = await labCli(['failover', 'postgres', '--config', cfg, '--env', 'prodlike', '--yes'])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/refusing a disruptive change .* on protected environment "prodlike"/)
    expect(refused.stderr).toMatch(/--confirm prodlike/)
    expect((await topology()).leader).toBe(before.leader)
    const ok = await labCli(['failover', 'postgres', '--config', cfg, '--env', 'prodlike', '--confirm', 'prodlike', '--json'])
    expect(ok.code).toBe(0)
    expect(ok.json<FailoverPostgresResult>().newLeader).not.toBe(before.leader)
  })

  it('switches over to a named candidate: new timeline, writable, old leader reported', async () => {
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    const candidate = before.replicas[0]!
    const {code, res} = await failover(['--candidate', candidate, '--leader', before.leader])
    expect(code).toBe(0)
    expect(res.newLeader).toBe(candidate)
    expect(res.newTimeline).toBeGreaterThan(before.timeline)
    expect(res.writableAfterSeconds).toBeGreaterThan(0)
    expect(res.before.find((m) => m.name === before.leader)?.role).toBe('leader')
    expect(await inRecovery(candidate)).toBe(false)
    expect(res.execution?.status).toBe('succeeded')
  })

  it('switches over to any replica and, with --wait-replicas, waits for every member to stream', async () => {
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    const {code, res} = await failover(['--wait-replicas'])
    expect(code).toBe(0)
    expect(before.replicas).toContain(res.newLeader)
    expect(res.replicasStreamingAfterSeconds).toBeGreaterThanOrEqual(res.writableAfterSeconds!)
    expect(res.oldLeaderRejoined).toBe(true)
    expect(res.after?.filter((m) => m.role === 'replica' && m.timeline === res.newTimeline)).toHaveLength(2)
  })

  it('schedules a switchover and cancels it; a time without UTC offset is refused', async () => {
    await eventually('healthy', 90_000, healthy)
    const at = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z')
    expect((await failover(['--scheduled-at', at.replace('Z', '')])).code).toBe(2)
    const {code, res} = await failover(['--scheduled-at', at])
    expect(code).toBe(0)
    expect(res.patroni?.status).toBe(202)
    const sched = (await getCluster(api())).scheduled_switchover
    expect(new Date(sched!.at).getTime()).toBe(new Date(at).getTime())
    const cancel = await failover(['--cancel'])
    expect(cancel.code).toBe(0)
    expect((await getCluster(api())).scheduled_switchover).toBeUndefined()
    expect((await failover(['--cancel'])).code).toBe(3)
  })

  it('refuses a paused cluster (exit 3) and names the way out', async () => {
    await eventually('healthy', 90_000, healthy)
    await patchConfig(api(), {pause: true})
    try {
      await eventually('pause visible', 10_000, async () => Boolean((await getCluster(api())).pause))
      const before = await topology()
      const {code, res} = await failover([])
      expect(code).toBe(3)
      expect(res.error?.message).toMatch(/check "not-paused" failed/)
      expect(res.error?.suggestions.join(' ')).toMatch(/patronictl resume/)
      expect((await topology()).leader).toBe(before.leader)
    } finally {
      await patchConfig(api(), {pause: false})
    }
  })

  it('refuses a candidate that lags behind on replay (exit 3), and switches with --force', async () => {
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    const candidate = before.replicas[0]!
    const startup = childPid(postmasterPid(candidate), /startup/)
    process.kill(startup, 'SIGSTOP')
    let resumed = false
    const resume = () => {
      if (!resumed) process.kill(startup, 'SIGCONT')
      resumed = true
    }
    try {
      await withPg(pgConn(before.leader), (c) => c.query(`create table if not exists lag_filler(x text); insert into lag_filler select repeat('x', 200) from generate_series(1, 120000)`))
      const refused = await failover(['--candidate', candidate])
      expect(refused.code).toBe(3)
      expect(refused.res.error?.message).toMatch(/check "candidate-lag" failed: .* behind the leader \(limit 16\.0 MiB\)/)
      expect(refused.res.error?.suggestions.join(' ')).toMatch(/--max-lag SIZE .* --force/)
      expect((await topology()).leader).toBe(before.leader)
      // --force: the candidate replays what it has received, then is promoted.
      const child = spawn(process.execPath, [BIN, 'failover', 'postgres', '--candidate', candidate, '--force', '--json'], {env: {...process.env, ...labEnv(), NO_COLOR: '1'} as NodeJS.ProcessEnv})
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      const done = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)))
      await sleep(2000)
      resume()
      expect(await done).toBe(0)
      const res = JSON.parse(stdout) as FailoverPostgresResult
      expect(res.checks.find((c) => c.id === 'candidate-lag')?.ok).toBe(false)
      expect(res.newLeader).toBe(candidate)
      expect(res.newTimeline).toBeGreaterThan(before.timeline)
    } finally {
      resume()
      await withPg(pgConn((await topology()).leader), (c) => c.query('drop table if exists lag_filler')).catch(() => {})
    }
  })

  it('keeps polling through Patroni\'s 503 "status unknown" and verifies the switch', async () => {
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    // A stalled checkpointer keeps the old leader from finishing its shutdown checkpoint: Patroni
    // stops waiting after 20 s and answers 503 "Switchover status unknown" while the switch goes on.
    const checkpointer = childPid(postmasterPid(before.leader), /checkpointer/)
    process.kill(checkpointer, 'SIGSTOP')
    const timer = setTimeout(() => process.kill(checkpointer, 'SIGCONT'), 23_000)
    try {
      const {code, res} = await failover(['--candidate', before.replicas[0]!, '--timeout', '90s'])
      expect(code).toBe(0)
      expect(res.patroni).toEqual({status: 503, text: 'Switchover status unknown'})
      expect(res.notes.join(' ')).toMatch(/status unknown.*kept polling/)
      expect(res.newLeader).toBe(before.replicas[0])
      expect(res.writableAfterSeconds).toBeGreaterThan(20)
    } finally {
      clearTimeout(timer)
      try {
        process.kill(checkpointer, 'SIGCONT')
      } catch {
        // already gone
      }
    }
  })

  it('fails over when the leader is gone: refused while it is healthy, then --failover to the named candidate', async () => {
    labUpIfFailed()
    await eventually('healthy', 90_000, healthy)
    const before = await topology()
    const candidate = before.replicas[1]!
    const healthyRefusal = await failover(['--failover', '--candidate', candidate, '--yes'])
    expect(healthyRefusal.code).toBe(3)
    expect(healthyRefusal.res.error?.message).toMatch(/no-healthy-leader/)
    // The leader's machine dies: Patroni and PostgreSQL killed, its leader key lives on until the TTL.
    const member = before.leader
    const postmaster = postmasterPid(member)
    process.kill(pidOf(`patroni-${member.split('-')[1]}`), 'SIGKILL')
    process.kill(postmaster, 'SIGKILL')
    const noYes = await failover(['--failover', '--candidate', candidate])
    expect(noYes.code).toBe(3) // destructive: needs --yes (no terminal here)
    const {code, res} = await failover(['--failover', '--candidate', candidate, '--yes', '--timeout', '90s'])
    expect(code).toBe(0)
    expect(res.plan.summary).toMatch(/FAIL OVER .* committed on the old leader but not received .* are lost/)
    expect(res.plan.steps[0]?.risk).toBe('destructive')
    expect(res.newLeader).toBe(candidate)
    expect(res.newTimeline).toBeGreaterThan(before.timeline)
    // Bring the dead member back: it rejoins as a replica.
    expect((await labCli(['lab', 'up'])).code).toBe(0)
    await eventually('old leader rejoined', 120_000, healthy)
  })
})
