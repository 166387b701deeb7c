// A drill as a plan: start the probe, inject the fault, recover (automatically or with vaultctl's
// own command), verify, undo every fault, check health, record. Pure: observed state in, plan out.
// Undo, probe stop, health check and record are `always` steps: they run even when the drill fails.
import type {Plan, Step} from '../plan/types.js'
import type {S3Where} from '../plan/operations.js'
import type {KubeWhere} from '../plan/ops-lab.js'
import type {DrillOperation, ProbeSpec} from '../plan/ops-drill.js'
import {refusal} from '../errors.js'
import {SCENARIO_INFO, type ScenarioId} from './scenarios.js'

export type LabProcesses = {
  dir: string
  postgres: {member: string; patroniPidFile: string; postmasterPidFile: string}[]
  redis: {address: string; pidFile: string}[]
}

export type DrillObserved = {
  run: string
  lab?: LabProcesses
  postgres?: {cluster: string; endpoints: string[]; user: string; database: string; leader?: string; backups: number; kubernetes: boolean}
  redis?: {nodes: string[]; victim?: {address: string; slot: number; replicas?: number}}
  s3?: {s3: S3Where; bucket: string}
  /** the environment's Kubernetes cluster, and whether it has Velero configured */
  kube?: {cluster: KubeWhere; velero: boolean}
  /** the rows of `vaultctl status` that were not ok before the drill (component, name, rating) */
  baseline?: {key: string; rating: 'warn' | 'crit'}[]
  /** where the record goes */
  historyDir: string
  auditS3?: {s3: S3Where; bucket: string; prefix: string}
}

export type DrillOptions = {
  signal: 'SIGKILL' | 'SIGSTOP'
  timeoutMs: number
  targets: {rpoSeconds: number; rtoSeconds: number}
  intervalMs: number
  /** the global flags a child vaultctl gets: --env, --config, and --confirm ENV on a protected environment */
  childArgs: string[]
  confirmArgs: string[]
}

type Env = {name: string; protected: boolean}

/** Longer than the architecture's archive_timeout (WAL shipped at least every minute). */
export const VALIDATION_WARMUP_MS = 65_000

/** The components whose health the drill checks at its end. */
export function healthComponents(id: ScenarioId): ('postgres' | 'redis' | 's3' | 'kubernetes')[] {
  return id.startsWith('postgres') || id === 'backup-validation' ? ['postgres'] : id.startsWith('redis') ? ['redis'] : id === 's3-prefix-deletion' ? ['s3'] : ['kubernetes']
}

/** Why the scenario cannot run on this environment (undefined: it can). */
export function unsupported(id: ScenarioId, o: DrillObserved): string | undefined {
  const s = SCENARIO_INFO[id]
  for (const n of s.needs) {
    if (n === 'postgres' && !o.postgres) return 'the environment has no Patroni postgres section'
    if (n === 'redis' && !o.redis) return 'the environment has no redis section'
    if (n === 's3' && !o.s3) return 'the environment has no s3 section'
    if (n === 'kubernetes' && !o.kube) return 'the environment names no Kubernetes cluster (kubernetes.kubeconfig or kubernetes.context)'
    if (n === 'velero' && !o.kube?.velero) return 'the environment has no velero section'
  }
  if ((id === 'postgres-primary-loss' || id === 'redis-master-loss' || id === 'redis-cache-loss') && !o.lab) {
    return 'its fault is injected into the lab\'s processes (kill -9 by pid file); on a Kubernetes environment, pod faults are not automated yet'
  }
  if (id === 'postgres-corruption' && o.postgres?.kubernetes) return 'restore pitr --into cluster on Kubernetes prints the StatefulSet procedure but does not run it yet'
  return undefined
}

const always = (s: Omit<Step, 'always'>): Step => ({...s, always: true} as Step)
const step = (id: string, title: string, risk: Step['risk'], op: DrillOperation, extra: Partial<Step> = {}): Step => ({id, title, risk, op, ...extra} as Step)

export function planDrill(id: ScenarioId, o: DrillObserved, env: Env, opts: DrillOptions): Plan {
  const why = unsupported(id, o)
  if (why) throw refusal('DRILL_UNSUPPORTED', `${id} cannot run on ${env.name}: ${why}`, ['`vaultctl drill list` shows which scenarios this environment supports.'])
  const s = SCENARIO_INFO[id]
  const pg = o.postgres
  const lab = o.lab
  const run = o.run
  const child = (argv: string[]) => [...argv, ...opts.childArgs]
  const probe: ProbeSpec = {run, intervalMs: opts.intervalMs, attemptTimeoutMs: 1000,
    ...(s.probes.includes('postgres') || id === 'backup-validation' ? {postgres: {endpoints: pg!.endpoints, user: pg!.user, database: pg!.database}} : {}),
    ...(s.probes.includes('redis') ? {redis: {nodes: o.redis!.nodes}} : {}),
    ...(s.probes.includes('s3') ? {s3: {s3: o.s3!.s3, bucket: o.s3!.bucket, prefix: `vaultctl-drill/${run}/`}} : {})}
  const probing = Boolean(probe.postgres || probe.redis || probe.s3)
  const steps: Step[] = []
  if (probing) {
    steps.push(step('probe', `start the probe${id === 'backup-validation' ? ` (${VALIDATION_WARMUP_MS / 1000} s before the restore test: longer than archive_timeout)` : ''}: a write and a read every ${opts.intervalMs} ms to ${[probe.postgres && 'PostgreSQL (the leader)', probe.redis && 'Redis Cluster', probe.s3 && `s3://${probe.s3.bucket}/${probe.s3.prefix}`].filter(Boolean).join(', ')}${id === 'postgres-corruption' ? '; seed 1000 rows of the drill\'s own' : ''}`, 'write',
      // The daily restore test measures the WAL shipping lag: the probe must write for longer than
      // archive_timeout (the architecture's 1 min) before the restore, or an idle database's lag looks like loss.
      {kind: 'drill.probe-start', probe, warmupMs: id === 'backup-validation' ? VALIDATION_WARMUP_MS : 2000, ...(id === 'postgres-corruption' ? {seedRows: 1000} : {})}))
  }
  const labUp = (purpose: 'recovery' | 'undo') => step(purpose === 'undo' ? 'undo' : 'recover', purpose === 'undo' ? 'undo the fault: start the lab\'s stopped services again (they rejoin their clusters)' : 'start every Redis node again: each loads its AOF',
    'write', {kind: 'drill.vaultctl', purpose, argv: ['lab', 'up', '--dir', lab!.dir], timeoutMs: 180_000})
  const healthOf = (components: string[]) => always(step('healthy', `check that ${components.join(' and ')} ${components.length > 1 ? 'are' : 'is'} healthy again (vaultctl status: every row ok, or no worse than before the drill)`, 'read',
    {kind: 'drill.await-healthy', argv: child(['status', ...components.flatMap((c) => ['--component', c])]), components, timeoutMs: 120_000, baseline: o.baseline ?? []}))
  let rewind = false

  switch (id) {
    case 'postgres-primary-loss': {
      const leader = lab!.postgres.find((m) => m.member === pg!.leader)
      if (!leader) throw refusal('DRILL_NO_LEADER', `cluster ${pg!.cluster} has no running leader in the lab${pg!.leader ? ` (Patroni names ${pg!.leader})` : ''}: nothing to fail`, ['`vaultctl status --component postgres`'])
      steps.push(step('fault', `FAULT: kill -9 the leader ${leader.member}: its Patroni and its postmaster`, 'destructive',
        {kind: 'drill.signal', signal: 'SIGKILL', fault: true, targets: [{name: `patroni ${leader.member}`, pidFile: leader.patroniPidFile}, {name: `postgres ${leader.member}`, pidFile: leader.postmasterPidFile}]}))
      steps.push(step('await-failover', `wait for Patroni to elect a new leader and the probe to write again (at most ${opts.timeoutMs / 1000} s)`, 'read',
        {kind: 'drill.await-recovery', timeoutMs: opts.timeoutMs, patroni: {endpoints: pg!.endpoints, oldLeader: leader.member}}))
      steps.push(always(labUp('undo')))
      break
    }
    case 'postgres-switchover':
      steps.push(step('switchover', 'the planned switchover: vaultctl failover postgres (the best replica, verified writable on a new timeline)', 'write',
        {kind: 'drill.vaultctl', purpose: 'recovery', argv: child(['failover', 'postgres', '--yes', ...opts.confirmArgs, '--timeout', `${Math.round(opts.timeoutMs / 1000)}s`]), timeoutMs: opts.timeoutMs + 30_000,
          retryCodes: ['PRECONDITION_FAILED', 'NO_CANDIDATE'], retryForMs: 30_000}))
      break
    case 'postgres-corruption': {
      if (pg!.backups === 0) throw refusal('DRILL_NO_BACKUP', `there is no base backup of ${pg!.cluster}: a point-in-time restore has nothing to start from`, ['Take one first: `vaultctl backup create`.'])
      steps.push(step('fault', 'FAULT: delete the drill\'s 1000 seeded rows (vaultctl_drill.corruption) on the leader; the instant just before is the restore target', 'destructive',
        {kind: 'drill.delete-rows', endpoints: pg!.endpoints, user: pg!.user, database: pg!.database, run}))
      steps.push(step('switch-wal', 'switch WAL on the leader so the commits after the fault are archived', 'write', {kind: 'drill.switch-wal', endpoints: pg!.endpoints, user: pg!.user, database: pg!.database}))
      const restore = ['restore', 'pitr', '--into', 'cluster', '--target-time', '{beforeFault}', '--yes', ...opts.confirmArgs,
        '--verify-sql', `select count(*) = 1000 from vaultctl_drill.corruption where run = '${run}'`]
      steps.push(step('restore', 'recover: vaultctl restore pitr --into cluster to 1 ms before the fault, verified by the seeded rows (retried while that WAL is being archived)', 'destructive',
        {kind: 'drill.vaultctl', purpose: 'recovery', argv: child([...restore, '--timeout', `${Math.round(opts.timeoutMs / 1000)}s`]), timeoutMs: opts.timeoutMs + 60_000,
          retryCodes: ['TARGET_AFTER_LAST_COMMIT', 'TARGET_OUTSIDE_WINDOW'], retryForMs: 180_000}))
      // The undo of a restore that failed half-way (the cluster paused, replicas stopped) is the
      // restore finished: the same command continues it, with restore's own time limit (15 min);
      // the drill still counts as failed.
      steps.push(always(step('finish-restore', 'undo: if the restore failed half-way, run it again to finish it (it continues from its record; Patroni is resumed at its end)', 'destructive',
        {kind: 'drill.vaultctl', purpose: 'finish', afterFailureOf: 'restore', argv: child(restore), timeoutMs: 16 * 60_000})))
      steps.push(step('verify', 'verify: the 1000 seeded rows are back on the leader', 'read',
        {kind: 'drill.verify', timeoutMs: 60_000, rows: {endpoints: pg!.endpoints, user: pg!.user, database: pg!.database, run, count: 1000}}))
      steps.push(step('remove-kept', 'remove the data directory the restore kept (the restored data is verified)', 'destructive', {kind: 'drill.remove-kept'}))
      rewind = true
      break
    }
    case 'redis-master-loss': {
      const v = o.redis!.victim
      const victim = v && lab!.redis.find((r) => r.address === v.address)
      if (!v || !victim) throw refusal('DRILL_NO_MASTER', 'no lab master serves the probe\'s slot: the cluster is not healthy', ['`vaultctl status --component redis`'])
      if (v.replicas === 0) throw refusal('DRILL_NO_REPLICA', `master ${v.address} has no healthy replica: nothing could take its slots, the drill would only take them down`, ['`vaultctl status --component redis` shows the replicas; wait for replica migration or add one.'])
      steps.push(step('fault', `FAULT: ${opts.signal === 'SIGSTOP' ? 'SIGSTOP (hang)' : 'kill -9'} the master ${v.address}, which serves the probe's slot ${v.slot}`, 'destructive',
        {kind: 'drill.signal', signal: opts.signal, fault: true, targets: [{name: `redis ${v.address}`, pidFile: victim.pidFile}]}))
      steps.push(step('await-failover', `wait for the cluster to promote a replica and the probe to write again (at most ${opts.timeoutMs / 1000} s)`, 'read',
        {kind: 'drill.await-recovery', timeoutMs: opts.timeoutMs, redis: {nodes: o.redis!.nodes, oldMaster: v.address, slot: v.slot}}))
      steps.push(always(opts.signal === 'SIGSTOP'
        ? step('undo', `undo the fault: SIGCONT ${v.address} (it rejoins as a replica)`, 'write', {kind: 'drill.signal', signal: 'SIGCONT', fault: false, targets: [{name: `redis ${v.address}`, pidFile: victim.pidFile}]})
        : labUp('undo')))
      break
    }
    case 'redis-cache-loss':
      steps.push(step('fault', `FAULT: kill -9 every Redis node (${lab!.redis.length})`, 'destructive',
        {kind: 'drill.signal', signal: 'SIGKILL', fault: true, targets: lab!.redis.map((r) => ({name: `redis ${r.address}`, pidFile: r.pidFile}))}))
      steps.push(always(labUp('recovery')))
      steps.push(step('await-recovery', 'wait for the probe to write again', 'read', {kind: 'drill.await-recovery', timeoutMs: opts.timeoutMs}))
      break
    case 's3-prefix-deletion': {
      const prefix = probe.s3!.prefix
      steps.push(step('fault', `FAULT: delete every object under s3://${o.s3!.bucket}/${prefix} (delete markers)`, 'destructive', {kind: 'drill.delete-prefix', s3: o.s3!.s3, bucket: o.s3!.bucket, prefix}))
      steps.push(step('restore', 'recover: vaultctl restore s3 --undelete to 1 ms before the fault', 'write',
        {kind: 'drill.vaultctl', purpose: 'recovery', argv: child(['restore', 's3', '--bucket', o.s3!.bucket, '--prefix', prefix, '--to', '{beforeFault}', '--undelete', '--yes', ...opts.confirmArgs]), timeoutMs: opts.timeoutMs}))
      steps.push(step('verify', 'verify: every object the probe wrote before the fault is back', 'read', {kind: 'drill.verify', timeoutMs: 60_000, objects: {s3: o.s3!.s3, bucket: o.s3!.bucket, prefix}}))
      break
    }
    case 'backup-validation':
      steps.push(step('validate', 'the daily restore test: vaultctl backup validate (restore the newest backup to its latest WAL, check, tear down), timed', 'write',
        {kind: 'drill.vaultctl', purpose: 'validate', argv: child(['backup', 'validate']), timeoutMs: opts.timeoutMs}))
      break
    case 'namespace-deletion': {
      const cluster = o.kube!.cluster
      const ns = `vaultctl-drill-${run.toLowerCase()}`
      const backup = ns
      steps.push(step('seed', `create the drill's namespace ${ns} with 20 ConfigMaps`, 'write', {kind: 'drill.kube-seed', cluster, namespace: ns, configMaps: 20, run}))
      steps.push(step('backup', `back it up with Velero (${backup}, kept 24 h)`, 'write',
        {kind: 'drill.vaultctl', purpose: 'prepare', argv: child(['backup', 'velero', 'create', '--name', backup, '--include-namespaces', ns, '--ttl', '24h', '--timeout', `${Math.round(opts.timeoutMs / 1000)}s`]), timeoutMs: opts.timeoutMs + 30_000}))
      steps.push(step('fault', `FAULT: delete the namespace ${ns} and wait until it is gone`, 'destructive', {kind: 'drill.kube-delete-namespace', cluster, namespace: ns, fault: true, timeoutMs: opts.timeoutMs}))
      steps.push(step('restore', `recover: vaultctl restore velero from ${backup}`, 'write',
        {kind: 'drill.vaultctl', purpose: 'recovery', argv: child(['restore', 'velero', '--from-backup', backup, '--include-namespaces', ns, '--yes', ...opts.confirmArgs, '--timeout', `${Math.round(opts.timeoutMs / 1000)}s`]), timeoutMs: opts.timeoutMs + 30_000}))
      steps.push(step('verify', `verify: the 20 ConfigMaps are back in ${ns}`, 'read', {kind: 'drill.verify', timeoutMs: 60_000, namespace: {cluster, name: ns, configMaps: 20}}))
      steps.push(always(step('cleanup', `delete the drill's namespace ${ns} (its Velero backup expires in 24 h)`, 'write', {kind: 'drill.kube-delete-namespace', cluster, namespace: ns, fault: false, timeoutMs: opts.timeoutMs})))
      break
    }
  }
  if (probing) steps.push(always(step('probe-stop', 'stop the probe; read back every acknowledged write', 'read', {kind: 'drill.probe-stop', rewindToFault: rewind})))
  steps.push(healthOf(healthComponents(id)))
  steps.push(always(step('record', `record the drill: RTO and RPO against the targets (RTO ${s.targets.rtoSeconds === opts.targets.rtoSeconds ? '' : 'env '}${opts.targets.rtoSeconds} s, RPO ${opts.targets.rpoSeconds} s)`, 'write',
    {kind: 'drill.record', dir: o.historyDir, scenario: id, env: env.name, run, targets: opts.targets, scenarioKind: s.kind,
      ...(o.auditS3 ? {s3: {s3: o.auditS3.s3, bucket: o.auditS3.bucket, key: `${o.auditS3.prefix}drills/${env.name}/${id}/${run}.json`}} : {})})))
  return {
    command: 'drill run', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `DR drill ${id} on ${env.name}: ${s.fault}; recovery ${s.recovery === 'automatic' ? 'automatic' : 'by vaultctl'}; targets RTO ${opts.targets.rtoSeconds} s, RPO ${opts.targets.rpoSeconds} s (${s.source})`,
    observed: {run, ...(pg ? {leader: pg.leader ?? null} : {}), ...(o.redis?.victim ? {victim: o.redis.victim.address} : {})},
    fingerprint: {scenario: id, ...(pg ? {leader: pg.leader ?? null} : {}), ...(o.redis?.victim ? {victim: o.redis.victim.address} : {})},
    preconditions: [], steps,
    recovery: 'The undo steps ran (see the record). If anything is left unhealthy, `vaultctl status` names it; `vaultctl lab up` starts stopped lab services. The drill\'s own data (vaultctl_drill schema, vaultctl:drill:* keys, vaultctl-drill/ objects) can stay.',
  }
}
