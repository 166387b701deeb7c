import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {registerSecret} from '../../src/lib/config/secrets.js'
import {VaultctlError} from '../../src/lib/errors.js'
import {readAudit} from '../../src/lib/plan/audit.js'
import {planData} from '../../src/lib/plan/data.js'
import {executePlan, type ExecuteOptions} from '../../src/lib/plan/execute.js'
import {formatPlan} from '../../src/lib/plan/print.js'
import type {ClosureStep, Plan, Precondition, Risk, Step} from '../../src/lib/plan/types.js'

const auditFile = () => join(mkdtempSync(join(tmpdir(), 'vaultctl-audit-')), 'audit.jsonl')
const opts = (over: Partial<ExecuteOptions> = {}): ExecuteOptions => ({progress: 'silent', auditFile: auditFile(), argv: ['test', 'run'], interactive: false, ...over})

function step(id: string, risk: Risk, log: string[], fail?: string, group?: string): ClosureStep {
  return {
    id, title: `do ${id}`, risk, manual: `tool ${id}`, group,
    async run() {
      log.push(id)
      if (fail) throw new Error(fail)
      return {detail: `${id} done`}
    },
  }
}

const plan = (steps: Step[], over: Partial<Plan> = {}): Plan => ({command: 'test run', env: 'dev', protected: false, summary: 'a test plan', preconditions: [], steps, ...over})

async function rejection(p: Promise<unknown>): Promise<VaultctlError> {
  try {
    await p
  } catch (error) {
    expect(error).toBeInstanceOf(VaultctlError)
    return error as VaultctlError
  }
  throw new Error('expected a rejection')
}

describe('plan data and printing', () => {
  it('prints every step with its risk and manual command, and hashes the plan stably', () => {
    const log: string[] = []
    const p = plan([step('a', 'read', log), step('b', 'write', log), step('c', 'destructive', log)])
    const data = planData(p)
    expect(data.counts).toEqual({read: 1, write: 1, destructive: 1})
    expect(data.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(planData(p).hash).toBe(data.hash)
    expect(planData({...p, summary: 'other'}).hash).not.toBe(data.hash)
    const text = formatPlan(data)
    expect(text).toContain('1. [read] do a')
    expect(text).toContain('$ tool b')
    expect(text).toContain('3. [destructive] do c')
    expect(log).toEqual([])
  })

  it('groups tens of thousands of similar steps into one block', () => {
    const log: string[] = []
    const many = Array.from({length: 40_000}, (_, i) => step(`copy-${i}`, 'write', log, undefined, 'restore objects under datasets/'))
    const data = planData(plan([step('list', 'read', log), ...many]))
    expect(data.steps).toHaveLength(40_001)
    const text = formatPlan(data)
    expect(text.split('\n').length).toBeLessThan(20)
    expect(text).toContain('restore objects under datasets/ (40000 steps, 2-40001)')
    expect(text).toContain('... and 39997 more like these')
  })
})

describe('executor', () => {
  it('runs steps in order and appends one audit record', async () => {
    const log: string[] = []
    const o = opts()
    const res = await executePlan(plan([step('a', 'read', log), step('b', 'write', log)]), o)
    expect(log).toEqual(['a', 'b'])
    expect(res.status).toBe('succeeded')
    expect(res.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded'])
    const audit = readAudit(o.auditFile)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({env: 'dev', command: 'test run', status: 'succeeded', planHash: res.planHash, argv: ['test', 'run']})
    expect(audit[0]!.steps.map((s) => s.id)).toEqual(['a', 'b'])
  })

  it('stops at the first failure and says what was done, what was not and what next', async () => {
    const log: string[] = []
    const o = opts()
    const e = await rejection(executePlan(plan([step('a', 'write', log), step('b', 'write', log, 'disk full'), step('c', 'write', log)]), o))
    expect(log).toEqual(['a', 'b'])
    expect(e.exit).toBe(1)
    expect(e.message).toMatch(/step 2\/3 "do b" failed: disk full/)
    expect(e.suggestions[0]).toMatch(/Completed before it: a\..*by hand: tool b/)
    const [rec] = readAudit(o.auditFile)
    expect(rec!.status).toBe('failed')
    expect(rec!.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'not-run'])
    expect(rec!.steps[1]!.error).toBe('disk full')
  })

  it('re-checks preconditions right before the first write, after the reads', async () => {
    const log: string[] = []
    let leader = 'pg-1'
    const pre: Precondition = {id: 'leader', description: 'pg-1 is leader', observed: 'pg-1', async check() {
      log.push('check')
      return leader === 'pg-1' ? {ok: true, detail: 'yes'} : {ok: false, detail: `leader is now ${leader}`}
    }}
    const reads: Step = {...step('read', 'read', log), async run() {
      log.push('read')
      leader = 'pg-2' // the world changed between planning and acting
    }}
    const o = opts()
    const e = await rejection(executePlan(plan([reads, step('switch', 'write', log)], {preconditions: [pre]}), o))
    expect(e.exit).toBe(3)
    expect(e.message).toMatch(/no longer holds: leader is now pg-2/)
    expect(log).toEqual(['read', 'check'])
    expect(readAudit(o.auditFile)[0]!.status).toBe('refused')
  })

  it('refuses destructive steps on a protected env without --confirm when there is no terminal', async () => {
    const log: string[] = []
    const p = plan([step('drop', 'destructive', log)], {protected: true, env: 'prod'})
    const o = opts()
    const e = await rejection(executePlan(p, o))
    expect(e.exit).toBe(3)
    expect(e.suggestions.join(' ')).toContain('--confirm prod')
    expect(log).toEqual([])
    expect(readAudit(o.auditFile)[0]!.status).toBe('refused')
    // --yes is not enough on a protected environment
    expect((await rejection(executePlan(p, opts({yes: true})))).exit).toBe(3)
    // a wrong name is refused
    expect((await rejection(executePlan(p, opts({confirm: 'staging'})))).message).toMatch(/does not match/)
    expect(log).toEqual([])
    await executePlan(p, opts({confirm: 'prod'}))
    expect(log).toEqual(['drop'])
  })

  it('asks for the environment name on a terminal', async () => {
    const log: string[] = []
    const p = plan([step('drop', 'destructive', log)], {protected: true, env: 'prod'})
    const questions: string[] = []
    await rejection(executePlan(p, opts({interactive: true, prompt: async (q) => (questions.push(q), 'yes')})))
    expect(questions[0]).toMatch(/Type the environment name/)
    expect(log).toEqual([])
    await executePlan(p, opts({interactive: true, prompt: async () => 'prod'}))
    expect(log).toEqual(['drop'])
  })

  it('needs --yes (or a y at the prompt) for destructive steps elsewhere, and nothing for writes', async () => {
    const log: string[] = []
    expect((await rejection(executePlan(plan([step('purge', 'destructive', log)]), opts()))).suggestions.join(' ')).toContain('--yes')
    await executePlan(plan([step('purge', 'destructive', log)]), opts({yes: true}))
    await executePlan(plan([step('write', 'write', log)]), opts())
    expect(log).toEqual(['purge', 'write'])
  })

  it('keeps secrets out of the audit log and errors', async () => {
    registerSecret('Sup3rS3cretPw')
    const log: string[] = []
    const o = opts({argv: ['restore', '--password', 'Sup3rS3cretPw', '--note=uses Sup3rS3cretPw']})
    const e = await rejection(executePlan(plan([step('x', 'write', log, 'auth failed for password Sup3rS3cretPw')]), o))
    expect(e.message).not.toContain('Sup3rS3cretPw')
    const raw = readFileSync(o.auditFile, 'utf8')
    expect(raw).not.toContain('Sup3rS3cretPw')
    expect(raw).toContain('auth failed for password ***')
  })

  it('runs a grouped plan of many steps', async () => {
    let n = 0
    const steps: Step[] = Array.from({length: 5000}, (_, i) => ({id: `o${i}`, title: `copy ${i}`, risk: 'write' as const, manual: `cp ${i}`, group: 'copy objects', async run() {
      n++
    }}))
    const res = await executePlan(plan(steps), opts())
    expect(n).toBe(5000)
    expect(res.steps.every((s) => s.status === 'succeeded')).toBe(true)
  })

  it('runs verify after a step and fails the step when verification fails', async () => {
    const log: string[] = []
    const s: Step = {...step('a', 'write', log), async verify() {
      throw new Error('not observed')
    }}
    const e = await rejection(executePlan(plan([s, step('b', 'write', log)]), opts()))
    expect(e.message).toMatch(/not observed/)
    expect(log).toEqual(['a'])
  })
})

describe('disruptive plans on protected environments', () => {
  it('a switchover-like plan (writes only, confirmOnProtected) needs --confirm on a protected env, nothing elsewhere', async () => {
    const log: string[] = []
    const p = plan([step('switch', 'write', log)], {protected: true, env: 'prod', confirmOnProtected: true})
    const e = await rejection(executePlan(p, opts()))
    expect(e.exit).toBe(3)
    expect(e.message).toMatch(/a disruptive change \(a test plan\) on protected environment "prod"/)
    await executePlan(p, opts({confirm: 'prod'}))
    await executePlan({...p, protected: false, env: 'dev'}, opts())
    expect(log).toEqual(['switch', 'switch'])
  })
})

describe('clean-up steps', () => {
  it('a step marked always still runs after an earlier failure, and is recorded', async () => {
    const log: string[] = []
    const o = opts()
    const cleanup: Step = {...step('teardown', 'write', log), always: true}
    const e = await rejection(executePlan(plan([step('a', 'write', log), step('b', 'write', log, 'boom'), step('c', 'write', log), cleanup]), o))
    expect(e.exit).toBe(1)
    expect(log).toEqual(['a', 'b', 'teardown'])
    expect(readAudit(o.auditFile)[0]!.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'not-run', 'succeeded'])
  })
})
