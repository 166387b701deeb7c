// The executor of the drill's operations. The probe lives in the run's shared state from its
// start step to its stop step; every step that marks a phase (fault, detection, decision,
// recovery, verification) writes the instant into the same state, and the record step judges.
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {dirname, isAbsolute, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {DrillOperation, DrillOperationResult} from '../plan/ops-drill.js'
import type {OperationContext} from './operations.js'
import {CORRUPTION_TABLE, PROBE_TABLE, Probe, leaderConn} from './drill-probe.js'
import {withPg} from './postgres.js'
import {failure, refusal, errorMessage} from '../errors.js'
import {waitUntil} from '../wait.js'
import {shellLine} from '../shell.js'
import {figures, loss, outage, phases, verdict, type Marks, type TargetMeasure} from '../drill/measure.js'
import {firstCluster} from '../postgres/cluster-state.js'
import {normalizeRole} from '../postgres/roles.js'
import {readTopology} from '../redis/topology.js'
import {ownsSlot} from '../redis/cluster.js'
import {removePath, writeAtomic} from './files.js'
import {drillRecordFile, type DrillRecord} from '../drill/history.js'

const PROBE = 'drill.probe'
const MARKS = 'drill.marks'
const BEFORE = 'drill.beforeFault'
const KEPT = 'drill.keptDataDir'
const MEASURED = 'drill.measured'
const BACKUP_AT = 'drill.backupAt'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** SQL on the cluster's leader as Patroni names it now (it may have changed during the drill). */
const onLeader = <T>(t: {endpoints: string[]; user: string; database: string}, ctx: OperationContext, fn: (c: import('pg').Client) => Promise<T>): Promise<T> =>
  leaderConn(t.endpoints, t.user, t.database, ctx.secrets.pgPassword).then((conn) => withPg(conn, fn))

const marks = (ctx: OperationContext): Marks => (ctx.state[MARKS] ??= {}) as Marks
const probeOf = (ctx: OperationContext) => ctx.state[PROBE] as Probe | undefined

function markFault(ctx: OperationContext, at = Date.now()): void {
  const m = marks(ctx)
  m.faultAt ??= at
  ctx.state[BEFORE] ??= new Date(at - 1).toISOString()
}

/** vaultctl itself: the same entry point and Node as this process. */
const selfEntry = () => fileURLToPath(new URL('../../../bin/run.js', import.meta.url))

async function vaultctl(argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<{exitCode: number; json?: unknown; stderr: string}> {
  const {run} = await import('./exec.js')
  // The same program with the same rights: it resolves the same secret references, so it gets this environment.
  // Ctrl-C of the drill reaches it as SIGTERM (vaultctl's own executor then stops at a step boundary and records).
  const r = await run(process.execPath, [selfEntry(), ...argv, '--json'], {timeoutMs, pass: Object.keys(process.env), ...(signal ? {signal} : {})})
  let json: unknown
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined
  } catch {
    json = undefined
  }
  return {exitCode: r.exitCode, json, stderr: r.stderr}
}

const errorCode = (json: unknown) => (json as {error?: {code?: string; message?: string; suggestions?: string[]}} | undefined)?.error

async function probeStart(op: Extract<DrillOperation, {kind: 'drill.probe-start'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.probe-start']> {
  const p = op.probe
  if (p.postgres) {
    const pg = p.postgres
    await onLeader(pg, ctx, async (c) => {
      await c.query('create schema if not exists vaultctl_drill')
      await c.query(`create table if not exists ${PROBE_TABLE}(run text not null, seq int not null, acked_at timestamptz not null default clock_timestamp(), primary key (run, seq))`)
      // The drill's rows of earlier runs (a day and older) go: the table stays small.
      await c.query(`delete from ${PROBE_TABLE} where acked_at < now() - interval '1 day'`)
      if (op.seedRows) {
        await c.query(`create table if not exists ${CORRUPTION_TABLE}(run text not null, n int not null)`)
        await c.query(`delete from ${CORRUPTION_TABLE} where run <> $1`, [p.run])
        await c.query(`insert into ${CORRUPTION_TABLE} select $1, g from generate_series(1, $2::int) g`, [p.run, op.seedRows])
      }
    })
  }
  const probe = new Probe(p, ctx.secrets)
  ctx.state[PROBE] = probe
  const t0 = Date.now()
  probe.start()
  await sleep(op.warmupMs)
  // A drill starts from a working system: every probe must have written before the fault.
  await waitUntil({what: `the probe writing to ${probe.targets.join(', ')}`, timeoutMs: 15_000, signal: ctx.signal, code: 'DRILL_PROBE_FAILED',
    suggestions: ['The system is not healthy before the drill: `vaultctl status` shows why. Nothing was injected.']}, async () => {
    if (probe.allWroteSince(t0)) return {done: true, value: true}
    const last = probe.attempts.filter((a) => !a.ok).at(-1)
    return {done: false, status: last ? `${last.target}: ${last.error}` : 'no write acknowledged yet'}
  })
  return {targets: probe.targets, ...(op.seedRows ? {seeded: op.seedRows} : {}), startedAt: new Date(probe.startedAt).toISOString()}
}

function readPid(file: string): number {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const pid = Number(text.split('\n')[0]?.trim())
  if (!Number.isInteger(pid) || pid <= 1) throw refusal('DRILL_NO_PROCESS', `${file} holds no pid: the process to signal is not running`, ['Run `vaultctl lab status`; `vaultctl lab up` starts what is missing.'])
  return pid
}

function signal(op: Extract<DrillOperation, {kind: 'drill.signal'}>, ctx: OperationContext): DrillOperationResult['drill.signal'] {
  const pids = op.targets.map((t) => ({name: t.name, pid: readPid(t.pidFile)}))
  if (op.fault) markFault(ctx)
  const signalled: {name: string; pid: number}[] = []
  for (const t of pids) {
    try {
      process.kill(t.pid, op.signal)
      signalled.push(t)
    } catch (error) {
      // SIGCONT to a process that died meanwhile is no failure of the undo.
      if (op.signal !== 'SIGCONT') throw failure('DRILL_SIGNAL', `cannot send ${op.signal} to ${t.name} (pid ${t.pid}): ${errorMessage(error)}`)
    }
  }
  return {signalled, at: new Date().toISOString()}
}

async function awaitRecovery(op: Extract<DrillOperation, {kind: 'drill.await-recovery'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.await-recovery']> {
  const m = marks(ctx)
  const fault = m.faultAt ?? Date.now()
  const probe = probeOf(ctx)
  let newLeader: string | undefined
  let newMaster: string | undefined
  await waitUntil({what: 'the automatic recovery and the probe writing again', timeoutMs: op.timeoutMs, intervalMs: 100, maxIntervalMs: 100, signal: ctx.signal, code: 'DRILL_NOT_RECOVERED',
    suggestions: ['The environment did not recover by itself within the timeout: `vaultctl status` shows its state; the drill\'s undo steps still ran.'],
    onStatus: (s, ms) => ctx.note(`${(ms / 1000).toFixed(1)} s: ${s}`)}, async () => {
    const now = Date.now()
    if (op.patroni) {
      const {cluster} = await firstCluster(op.patroni.endpoints).catch(() => ({cluster: undefined}))
      const leader = cluster?.members.find((x) => normalizeRole(x.role) === 'leader')
      const oldRunning = cluster?.members.find((x) => x.name === op.patroni!.oldLeader)
      // Detected: Patroni no longer shows the old leader leading (its leader key expired or moved).
      if (cluster && (!leader || leader.name !== op.patroni.oldLeader || !oldRunning)) m.detectedAt ??= now
      if (leader && leader.name !== op.patroni.oldLeader) {
        m.detectedAt ??= now
        m.recoveryStartedAt ??= now
        newLeader = leader.name
      }
    }
    if (op.redis) {
      const r = op.redis
      const t = await readTopology(r.nodes.filter((n) => n !== r.oldMaster), ctx.secrets.redisPassword).catch(() => undefined)
      const old = t?.nodes.find((n) => n.address === r.oldMaster)
      if (old && (old.failing || old.flags.some((f) => f.startsWith('fail')))) m.detectedAt ??= now
      // Decided: another master serves the probe's slot.
      const owner = t?.nodes.find((n) => n.role === 'master' && !n.failing && ownsSlot(n.slots, r.slot))
      if (owner && owner.address !== r.oldMaster) {
        m.detectedAt ??= now
        m.recoveryStartedAt ??= now
        newMaster = owner.address
      }
    }
    const decided = (!op.patroni || newLeader) && (!op.redis || newMaster)
    const wrote = probe ? probe.firstOkAfter(m.detectedAt ?? fault) : now
    if (decided && wrote !== undefined) {
      m.recoveredAt ??= wrote
      return {done: true, value: true}
    }
    return {done: false, status: op.patroni ? (newLeader ? `${newLeader} leads; waiting for the probe to write` : `waiting for Patroni to replace ${op.patroni.oldLeader}`)
      : newMaster ? `${newMaster} took the slots; waiting for the probe to write` : `waiting for the cluster to fail ${op.redis?.oldMaster} over`}
  })
  return {...(m.detectedAt ? {detectedAfterMs: m.detectedAt - fault} : {}), ...(m.recoveryStartedAt && m.detectedAt ? {decidedAfterMs: m.recoveryStartedAt - m.detectedAt} : {}),
    recoveredAfterMs: (m.recoveredAt ?? Date.now()) - fault, ...(newLeader ? {newLeader} : {}), ...(newMaster ? {newMaster} : {})}
}

/** The command's argv with the restore target filled in; undefined when it needs one and no fault was injected. */
function argvOf(op: Extract<DrillOperation, {kind: 'drill.vaultctl'}>, ctx: OperationContext): string[] | undefined {
  const before = ctx.state[BEFORE] as string | undefined
  if (op.argv.includes('{beforeFault}') && !before) return undefined
  return op.argv.map((a) => (a === '{beforeFault}' ? before! : a))
}

/** A child vaultctl that failed: its own error and suggestions, then how to run it by hand. */
function commandFailed(what: string, argv: string[], r: {exitCode: number; json?: unknown; stderr: string}, byHand: string | undefined) {
  const err = errorCode(r.json)
  return failure('DRILL_COMMAND_FAILED', `${what}vaultctl ${argv.join(' ')} exited ${r.exitCode}: ${err ? `${err.code}: ${err.message}` : r.stderr.trim().split('\n').slice(-3).join(' ')}`,
    [...(err?.suggestions ?? []), ...(byHand ? [`${byHand}: ${shellLine(['vaultctl', ...argv])}`] : [])])
}

/**
 * After a failed drill: the recovery command again when it stopped half-way (its dry run says it
 * would continue), so that the drill does not leave the cluster paused. Not after an interrupt
 * (the operator stopped the drill: the failure names the command), nor after a recovery that
 * never started or completed.
 */
async function finishRecovery(op: Extract<DrillOperation, {kind: 'drill.vaultctl'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.vaultctl']> {
  const t0 = Date.now()
  const failed = ctx.state['plan.failed'] as {step: string; interrupted?: boolean} | undefined
  const skip = (why: string) => ({exitCode: 0, seconds: (Date.now() - t0) / 1000, attempts: 0, skipped: why})
  if (!failed || failed.step !== op.afterFailureOf) return skip(`the step ${op.afterFailureOf ?? '?'} did not fail`)
  const argv = argvOf(op, ctx)
  if (!argv) return skip('no fault was injected')
  if (failed.interrupted) return skip(`the drill was interrupted: finish the recovery with: ${shellLine(['vaultctl', ...argv])}`)
  const dry = await vaultctl([...argv, '--dry-run', '--json'], 60_000, ctx.signal)
  const continuing = (dry.json as {plan?: {observed?: {continuing?: unknown}}} | undefined)?.plan?.observed?.continuing === true
  if (!continuing) return skip(dry.exitCode === 0 ? 'nothing was left half-way' : `its dry run exited ${dry.exitCode}: ${errorCode(dry.json)?.message ?? dry.stderr.trim().split('\n').at(-1) ?? ''}`)
  ctx.note(`the recovery stopped half-way: vaultctl ${argv.join(' ')}`)
  const r = await vaultctl(argv, op.timeoutMs, ctx.signal)
  if (r.exitCode !== 0) throw commandFailed('finishing the recovery failed: ', argv, r, 'Finish it by hand')
  return {exitCode: 0, seconds: (Date.now() - t0) / 1000, attempts: 1, ...(r.json === undefined ? {} : {result: r.json})}
}

async function runVaultctl(op: Extract<DrillOperation, {kind: 'drill.vaultctl'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.vaultctl']> {
  if (op.purpose === 'finish') return finishRecovery(op, ctx)
  const argv = argvOf(op, ctx)
  if (!argv) throw failure('DRILL_NO_FAULT', 'no fault instant was recorded: the restore has no target')
  const m = marks(ctx)
  const t0 = Date.now()
  if (op.purpose === 'recovery' || op.purpose === 'validate') {
    // A planned action is its own fault; the drill decides at once (an operator's decision time is not measured).
    markFault(ctx, t0)
    m.detectedAt ??= t0
    m.recoveryStartedAt ??= t0
  }
  let attempts = 0
  for (;;) {
    attempts++
    ctx.note(`vaultctl ${argv.join(' ')}${attempts > 1 ? ` (attempt ${attempts})` : ''}`)
    const r = await vaultctl(argv, op.timeoutMs, ctx.signal)
    const err = errorCode(r.json)
    if (r.exitCode === 0 || (op.purpose === 'validate' && r.exitCode === 1 && !err)) {
      if (op.purpose === 'validate') {
        m.verifiedAt = Date.now()
        const res = r.json as {execution?: {steps?: {id: string; result?: {lastTransactionAt?: string}}[]}} | undefined
        const last = res?.execution?.steps?.map((s) => s.result?.lastTransactionAt).find(Boolean)
        // RPO: what a restore at t0 would have lost: the probe's writes acknowledged before t0 and
        // after the restored instance's last transaction (the oldest of them dates the loss).
        const lastAt = last ? new Date(last).getTime() : undefined
        const missing = probeOf(ctx)?.attempts.filter((a) => a.target === 'postgres' && a.op === 'write' && a.ok && a.endedAt < t0 && (lastAt === undefined || a.endedAt > lastAt)) ?? []
        ctx.state[MEASURED] = {rtoSeconds: (m.verifiedAt - t0) / 1000, ...(lastAt === undefined && !probeOf(ctx) ? {} : {rpoSeconds: missing.length ? (t0 - missing[0]!.endedAt) / 1000 : 0})}
        if (r.exitCode !== 0) throw failure('DRILL_VALIDATION_FAILED', `backup validate failed a check: ${JSON.stringify((r.json as {checks?: unknown})?.checks ?? r.stderr.slice(-500))}`)
      }
      // The backup the recovery will restore: the data it holds is as old as its end (the RPO of a restore from it).
      if (op.purpose === 'prepare') ctx.state[BACKUP_AT] = Date.now()
      if (op.purpose === 'recovery' && ctx.state[BACKUP_AT] !== undefined && m.faultAt !== undefined) {
        ctx.state[MEASURED] = {rpoSeconds: Math.max(0, (m.faultAt - (ctx.state[BACKUP_AT] as number)) / 1000)}
      }
      const kept = (r.json as {cluster?: {oldDataDir?: string}} | undefined)?.cluster?.oldDataDir
      if (kept) ctx.state[KEPT] = kept
      return {exitCode: r.exitCode, seconds: (Date.now() - t0) / 1000, attempts, ...(r.json === undefined ? {} : {result: r.json})}
    }
    if (err?.code && op.retryCodes?.includes(err.code) && Date.now() - t0 < (op.retryForMs ?? 0) && !ctx.signal.aborted) {
      await sleep(1000)
      continue
    }
    // A recovery stopped half-way (a restore that paused the cluster) is completed by the same command again.
    throw commandFailed('', argv, r, op.purpose === 'recovery' ? 'Finish the recovery' : undefined)
  }
}

async function verify(op: Extract<DrillOperation, {kind: 'drill.verify'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.verify']> {
  const m = marks(ctx)
  const t0 = Date.now()
  const what = await waitUntil({what: 'the lost data back', timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 1000, signal: ctx.signal, code: 'DRILL_NOT_VERIFIED',
    suggestions: ['The recovery ran but the data is not back: look at the recovery step\'s output before anything else.']}, async () => {
    if (op.rows) {
      const r = op.rows
      const n = await onLeader(r, ctx, async (c) =>
        Number((await c.query<{n: string}>(`select count(*) as n from ${CORRUPTION_TABLE} where run = $1`, [r.run])).rows[0]!.n))
      return n === r.count ? {done: true, value: `${n} seeded rows back`} : {done: false, status: `${n} of ${r.count} seeded rows`}
    }
    if (op.objects) {
      const probe = probeOf(ctx)
      const fault = m.faultAt ?? Date.now()
      const wanted = (probe?.attempts ?? []).filter((a) => a.target === 's3' && a.op === 'write' && a.ok && a.endedAt < fault).map((a) => a.seq)
      const have = await probe!.survivors('s3')
      const missing = wanted.filter((s) => !have.has(s))
      return missing.length === 0 ? {done: true, value: `${wanted.length} objects written before the fault back`} : {done: false, status: `${missing.length} of ${wanted.length} objects missing`}
    }
    const ns = op.namespace!
    const {clusterConfig, namespaceContents} = await import('./kube.js')
    const have = ((await namespaceContents(await clusterConfig(ns.cluster), ns.name)) ?? []).filter((x) => x.startsWith('configmap/drill-')).length
    return have === ns.configMaps ? {done: true, value: `${have} ConfigMaps back in ${ns.name}`} : {done: false, status: `${have} of ${ns.configMaps} ConfigMaps in ${ns.name}`}
  })
  m.verifiedAt = Date.now()
  m.recoveredAt ??= m.verifiedAt
  return {verified: what, afterMs: m.verifiedAt - t0}
}

async function probeStop(op: Extract<DrillOperation, {kind: 'drill.probe-stop'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.probe-stop']> {
  const probe = probeOf(ctx)
  if (!probe) return {measures: [], attempts: 0, sample: []}
  await probe.stop()
  const m = marks(ctx)
  const fault = m.faultAt ?? probe.startedAt
  const rewind = op.rewindToFault && ctx.state[BEFORE] ? new Date(ctx.state[BEFORE] as string).getTime() : undefined
  const measures: TargetMeasure[] = []
  try {
    for (const target of probe.targets) {
      const mine = probe.attempts.filter((a) => a.target === target)
      const survived = await probe.survivors(target)
      measures.push({target, writes: outage(mine, 'write', probe.startedAt, probe.stoppedAt!), reads: outage(mine, 'read', probe.startedAt, probe.stoppedAt!), loss: loss(mine, survived, fault, rewind)})
    }
  } finally {
    await probe.close()
  }
  // A planned or vaultctl-run recovery is over when the probe writes again after its longest outage.
  if (m.recoveredAt === undefined) {
    const ends = measures.map((x) => (x.writes.to ? new Date(x.writes.to).getTime() : fault))
    m.recoveredAt = Math.max(fault, ...ends)
  }
  ctx.state['drill.measures'] = measures
  const failed = probe.attempts.filter((a) => !a.ok)
  return {measures, attempts: probe.attempts.length, sample: failed.slice(0, 5)}
}

const RANK = {ok: 0, warn: 1, crit: 2} as const

async function awaitHealthy(op: Extract<DrillOperation, {kind: 'drill.await-healthy'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.await-healthy']> {
  const t0 = Date.now()
  const before = new Map((op.baseline ?? []).map((b) => [b.key, b.rating]))
  let left: string[]
  let preExisting: string[]
  for (;;) {
    const r = await vaultctl(op.argv, 60_000)
    const res = r.json as {components?: {rows: {component: string; name: string; rating: keyof typeof RANK; state: string; detail: string}[]}[]} | undefined
    const bad = (res?.components ?? []).flatMap((c) => c.rows).filter((x) => x.rating !== 'ok')
    const describe = (x: (typeof bad)[number]) => `${x.component} ${x.name}: ${x.state} (${x.detail})`
    // A row that was already as bad before the drill is reported, not counted against it.
    const worse = bad.filter((x) => RANK[x.rating] > RANK[before.get(`${x.component} ${x.name}`) ?? 'ok'])
    left = worse.map(describe)
    preExisting = bad.filter((x) => !worse.includes(x)).map(describe)
    if (res && worse.length === 0) return {healthy: true, afterMs: Date.now() - t0, left: [], ...(preExisting.length ? {preExisting} : {})}
    if (!res) left = [r.stderr.trim().split('\n').slice(-2).join(' ')]
    if (Date.now() - t0 > op.timeoutMs || ctx.signal.aborted) break
    ctx.note(`not healthy yet: ${left.slice(0, 2).join('; ')}`)
    await sleep(2000)
  }
  throw failure('DRILL_LEFT_UNHEALTHY', `after the drill, ${op.components.join(', ')} ${left.length === 1 ? 'is' : 'are'} not healthy: ${left.join('; ')}${preExisting.length ? ` (already before the drill: ${preExisting.join('; ')})` : ''}`,
    ['Fix what is named (`vaultctl status`), e.g. `vaultctl lab up` for a lab service that is not running.'], undefined, {result: {healthy: false, afterMs: Date.now() - t0, left, ...(preExisting.length ? {preExisting} : {})}})
}

async function record(op: Extract<DrillOperation, {kind: 'drill.record'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.record']> {
  const m = marks(ctx)
  const measures = (ctx.state['drill.measures'] ?? []) as TargetMeasure[]
  const measured = ctx.state[MEASURED] as {rpoSeconds?: number; rtoSeconds?: number} | undefined
  const f = figures(op.scenarioKind, measures, m, measured)
  const v = verdict(f, op.targets)
  const failed = ctx.state['plan.failed'] as {step: string; error: string} | undefined
  if (failed) {
    v.met = false
    v.missed.unshift(`the drill failed at step ${failed.step}: ${failed.error}`)
  }
  const rec: DrillRecord = {v: 1, run: op.run, scenario: op.scenario, env: op.env, at: new Date(m.faultAt ?? Date.now()).toISOString(), finishedAt: new Date().toISOString(),
    targets: op.targets, ...f, ...v, phases: phases(m), marks: Object.fromEntries(Object.entries(m).map(([k, t]) => [k, new Date(t as number).toISOString()])), measures,
    status: failed ? 'failed' : 'completed', ...(failed ? {failedStep: failed.step} : {})}
  ctx.state['drill.record'] = rec
  const file = drillRecordFile(op.dir, op.env, op.scenario, op.run)
  mkdirSync(dirname(file), {recursive: true})
  await writeAtomic(file, Buffer.from(JSON.stringify(rec, null, 2) + '\n'))
  let s3Key: string | undefined
  if (op.s3) {
    const {s3Client, putObject} = await import('./s3.js')
    const client = await s3Client({...op.s3.s3, ...ctx.secrets.s3})
    try {
      await putObject(client, op.s3.bucket, op.s3.key, JSON.stringify(rec, null, 2) + '\n')
      s3Key = op.s3.key
    } catch (error) {
      ctx.note(`the record is in ${file} but not in S3: ${errorMessage(error)}`)
    } finally {
      client.destroy()
    }
  }
  return {file, ...(s3Key ? {s3Key} : {}), marks: m}
}

async function kubeSeed(op: Extract<DrillOperation, {kind: 'drill.kube-seed'}>): Promise<DrillOperationResult['drill.kube-seed']> {
  const {applyObjects, clusterConfig} = await import('./kube.js')
  const labels = {'vaultctl.io/drill': op.run}
  const objects = [{apiVersion: 'v1', kind: 'Namespace', metadata: {name: op.namespace, labels}},
    ...Array.from({length: op.configMaps}, (_, i) => ({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: `drill-${i + 1}`, namespace: op.namespace, labels}, data: {n: String(i + 1)}}))]
  return {objects: await applyObjects(await clusterConfig(op.cluster), objects)}
}

async function kubeDeleteNamespace(op: Extract<DrillOperation, {kind: 'drill.kube-delete-namespace'}>, ctx: OperationContext): Promise<DrillOperationResult['drill.kube-delete-namespace']> {
  const {clusterConfig, deleteObjects, namespaceContents} = await import('./kube.js')
  const kc = await clusterConfig(op.cluster)
  if (op.fault) markFault(ctx)
  const t0 = Date.now()
  const deleted = (await deleteObjects(kc, [{apiVersion: 'v1', kind: 'Namespace', name: op.namespace}])).length > 0
  await waitUntil({what: `namespace ${op.namespace} gone`, timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 1000, signal: ctx.signal}, async () =>
    (await namespaceContents(kc, op.namespace)) === undefined ? {done: true, value: true} : {done: false, status: 'terminating'})
  return {deleted, goneAfterMs: Date.now() - t0}
}

export async function runDrillOperation(op: DrillOperation, ctx: OperationContext): Promise<DrillOperationResult[DrillOperation['kind']]> {
  switch (op.kind) {
    case 'drill.kube-seed':
      return kubeSeed(op)
    case 'drill.kube-delete-namespace':
      return kubeDeleteNamespace(op, ctx)
    case 'drill.probe-start':
      return probeStart(op, ctx)
    case 'drill.signal':
      return signal(op, ctx)
    case 'drill.delete-rows': {
      const {deleted, at} = await onLeader(op, ctx, async (c) => {
        // The instant as the database sees it: the restore target is 1 ms before it.
        const t = (await c.query<{t: Date}>('select clock_timestamp() as t')).rows[0]!.t
        markFault(ctx, Date.now())
        ctx.state[BEFORE] = new Date(t.getTime() - 1).toISOString()
        const r = await c.query(`delete from ${CORRUPTION_TABLE} where run = $1`, [op.run])
        return {deleted: r.rowCount ?? 0, at: t.toISOString()}
      })
      if (deleted === 0) throw failure('DRILL_NOTHING_DELETED', 'the drill\'s seeded rows were not there to delete')
      return {deleted, at}
    }
    case 'drill.delete-prefix': {
      const {s3Client, listObjects} = await import('./s3.js')
      const {deleteBatch} = await import('./s3-versions.js')
      const client = await s3Client({...op.s3, ...ctx.secrets.s3})
      try {
        const keys = (await listObjects(client, op.bucket, op.prefix)).map((o) => ({key: o.key}))
        markFault(ctx)
        let deleted = 0
        for (let i = 0; i < keys.length; i += 1000) deleted += (await deleteBatch(client, op.bucket, keys.slice(i, i + 1000))).deleted
        return {deleted, at: new Date(marks(ctx).faultAt!).toISOString()}
      } finally {
        client.destroy()
      }
    }
    case 'drill.switch-wal': {
      const lsn = await onLeader(op, ctx, async (c) =>
        (await c.query<{lsn: string}>('select pg_switch_wal()::text as lsn')).rows[0]!.lsn)
      return {lsn}
    }
    case 'drill.await-recovery':
      return awaitRecovery(op, ctx)
    case 'drill.vaultctl':
      return runVaultctl(op, ctx)
    case 'drill.verify':
      return verify(op, ctx)
    case 'drill.remove-kept': {
      const kept = ctx.state[KEPT] as string | undefined
      if (!kept) return {}
      if (!isAbsolute(kept) || kept.split('/').filter(Boolean).length < 2 || !existsSync(join(kept, 'PG_VERSION'))) {
        throw refusal('DRILL_KEPT_UNSAFE', `${kept} does not look like a PostgreSQL data directory: not removed`)
      }
      removePath(kept)
      return {removed: kept}
    }
    case 'drill.probe-stop':
      return probeStop(op, ctx)
    case 'drill.await-healthy':
      return awaitHealthy(op, ctx)
    case 'drill.record':
      return record(op, ctx)
  }
}
