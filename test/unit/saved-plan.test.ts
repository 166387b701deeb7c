// Saved plans: what is kept, what is compared on apply, and what counts as drift.
import {describe, expect, it} from 'vitest'
import {planData} from '../../src/lib/plan/data.js'
import {manual, shellQuote, type Operation} from '../../src/lib/plan/operations.js'
import {driftOf, parseSavedPlan, planArgv, savePlan, stateChanges} from '../../src/lib/plan/saved.js'
import type {Plan} from '../../src/lib/plan/types.js'

const op = (candidate: string): Operation => ({kind: 'patroni.request', api: 'http://127.0.0.1:14008', method: 'POST', path: '/switchover', body: {leader: 'pg-1', candidate}, expect: [200], patronictl: {config: '/etc/patroni.yml', cluster: 'vault-lab'}, detach: true})
const plan = (candidate: string, leader = 'pg-1'): Plan => ({command: 'failover postgres', env: 'lab', protected: false, summary: `switch to ${candidate}`,
  fingerprint: {leader, timeline: 4}, preconditions: [], steps: [{id: 'request-switchover', title: 'switch', risk: 'write', op: op(candidate)}]})

describe('operations print what they run', () => {
  it('renders the manual command from the operation itself', () => {
    expect(manual(op('pg-2'))).toBe(`curl -s -XPOST http://127.0.0.1:14008/switchover -d '{"leader":"pg-1","candidate":"pg-2"}'   # or: patronictl -c /etc/patroni.yml switchover vault-lab --leader pg-1 --candidate pg-2 --force`)
    expect(manual({kind: 'redis.command', node: '127.0.0.1:14704', args: ['CLUSTER', 'FAILOVER', 'FORCE'], expect: 'OK'})).toBe('redis-cli -h 127.0.0.1 -p 14704 CLUSTER FAILOVER FORCE')
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`)
  })
  it('hashes the operations: a different candidate is a different plan', () => {
    expect(planData(plan('pg-2')).hash).not.toBe(planData(plan('pg-3')).hash)
    expect(planData(plan('pg-2')).typed).toBe(true)
    expect(planData(plan('pg-2')).steps[0]!.op).toEqual(op('pg-2'))
  })
})

describe('saved plans', () => {
  const saved = () => savePlan(plan('pg-2'), planData(plan('pg-2')), {version: '0.1.0', commandId: 'failover:postgres', argv: ['--candidate', 'pg-2', '--plan-out', 'p.json', '--yes', '--env=lab', '--json']})
  it('keep the command\'s own arguments, not how it was run', () => {
    expect(saved().argv).toEqual(['--candidate', 'pg-2'])
    expect(planArgv(['--confirm', 'prod', '-e', 'prod', '--config=x.yaml', '--latest'])).toEqual(['--latest'])
  })
  it('round-trip through JSON, and anything else is refused as not a plan (exit 2)', () => {
    const s = saved()
    expect(parseSavedPlan(JSON.stringify(s), 'p.json')).toEqual(s)
    expect(() => parseSavedPlan('{"format": "terraform"}', 'p.json')).toThrow(/not a vaultctl plan/)
    expect(() => parseSavedPlan('nope', 'p.json')).toThrow(/not JSON/)
  })
  it('apply only while the state it was made from holds', () => {
    expect(driftOf(saved(), planData(plan('pg-2')), {leader: 'pg-1', timeline: 4})).toEqual([])
    const moved = driftOf(saved(), planData(plan('pg-2', 'pg-3')), {leader: 'pg-3', timeline: 5})
    expect(moved).toEqual(['changed: leader: "pg-1" -> "pg-3"', 'changed: timeline: 4 -> 5'])
    expect(driftOf(saved(), planData(plan('pg-3')), {leader: 'pg-1', timeline: 4})).toEqual(['the steps a fresh plan would run differ from the saved ones'])
  })
  it('describe state changes key by key', () => {
    expect(stateChanges({members: {'pg-1': 'leader/running', 'pg-2': 'replica/streaming'}}, {members: {'pg-1': 'replica/streaming', 'pg-2': 'leader/running'}}))
      .toEqual(['members.pg-1: "leader/running" -> "replica/streaming"', 'members.pg-2: "replica/streaming" -> "leader/running"'])
  })
})
