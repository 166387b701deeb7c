// The operations of a DR drill: a probe that writes as a client would, the fault, the wait for
// recovery (automatic, or vaultctl's own commands run as a child process), the verification, the
// health check and the record. Pure data and their manual spelling; the executor is
// src/lib/clients/drill-ops.ts.
import {shellLine, shellQuote, type S3Where} from './operations.js'
import type {Attempt, Marks, TargetMeasure} from '../drill/measure.js'
import type {KubeWhere} from './ops-lab.js'

export type ProbeSpec = {
  run: string
  intervalMs: number
  /** each attempt gives up after this long (a hung server counts as down) */
  attemptTimeoutMs: number
  postgres?: {endpoints: string[]; user: string; database: string}
  redis?: {nodes: string[]}
  s3?: {s3: S3Where; bucket: string; prefix: string}
}

/** Start the probe (in the background, for the rest of the drill); `seedRows`: the drill's own rows, deleted later as the "corruption". */
export type DrillProbeStart = {kind: 'drill.probe-start'; probe: ProbeSpec; seedRows?: number; warmupMs: number}

/** Send `signal` to the processes in these pid files (first line: the pid; PostgreSQL's postmaster.pid too). */
export type DrillSignal = {kind: 'drill.signal'; signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'; targets: {name: string; pidFile: string}[]; fault: boolean}

/** The corruption: delete the drill's seeded rows on the leader, at a recorded instant. */
export type DrillDeleteRows = {kind: 'drill.delete-rows'; endpoints: string[]; user: string; database: string; run: string}

/** The deletion: every object under `prefix` gets a delete marker. */
export type DrillDeletePrefix = {kind: 'drill.delete-prefix'; s3: S3Where; bucket: string; prefix: string}

/** On the leader: switch WAL so the segment holding the commits after the fault gets archived. */
export type DrillSwitchWal = {kind: 'drill.switch-wal'; endpoints: string[]; user: string; database: string}

/**
 * Wait for the automatic recovery: Patroni electing a new leader, or Redis Cluster promoting a
 * replica, and the probe writing again. Detection and decision are read from the system itself.
 */
export type DrillAwaitRecovery = {kind: 'drill.await-recovery'; timeoutMs: number
  patroni?: {endpoints: string[]; oldLeader: string}
  redis?: {nodes: string[]; oldMaster: string; slot: number}}

/**
 * vaultctl itself, as a child process (the command an operator types). `{beforeFault}` in argv is
 * replaced by the instant 1 ms before the fault; a refusal with one of `retryCodes` is retried
 * until `retryForMs` (WAL still being archived).
 */
/**
 * vaultctl itself as a child process. `finish`: after a failed drill, the recovery command again,
 * only if its dry run says it would continue one left half-way (a restore --into cluster that
 * paused the cluster); never after an interrupt, which the operator asked for.
 */
export type DrillVaultctl = {kind: 'drill.vaultctl'; purpose: 'recovery' | 'undo' | 'prepare' | 'validate' | 'finish'; argv: string[]; timeoutMs: number; retryCodes?: string[]; retryForMs?: number
  /** purpose `finish`: the recovery step whose failure it finishes */
  afterFailureOf?: string}

/** The namespace-deletion drill's own namespace, with `configMaps` ConfigMaps labelled with the run. */
export type DrillKubeSeed = {kind: 'drill.kube-seed'; cluster: KubeWhere; namespace: string; configMaps: number; run: string}

/** Delete a namespace and wait until it is gone (`fault`: the drill's fault; else its clean-up). */
export type DrillKubeDeleteNamespace = {kind: 'drill.kube-delete-namespace'; cluster: KubeWhere; namespace: string; fault: boolean; timeoutMs: number}

/** Check that the lost data is back: the seeded rows, the probe's objects, the namespace's ConfigMaps. */
export type DrillVerify = {kind: 'drill.verify'; timeoutMs: number
  rows?: {endpoints: string[]; user: string; database: string; run: string; count: number}
  objects?: {s3: S3Where; bucket: string; prefix: string}
  namespace?: {cluster: KubeWhere; name: string; configMaps: number}}

/** Remove the data directory a restore --into cluster kept (the drill verified the restored data). */
export type DrillRemoveKept = {kind: 'drill.remove-kept'}

/** Stop the probe; read back every acknowledged write; measure. */
export type DrillProbeStop = {kind: 'drill.probe-stop'; rewindToFault: boolean}

/** `vaultctl status` until every row of these components is ok, or say what is left. */
export type DrillAwaitHealthy = {kind: 'drill.await-healthy'; argv: string[]; components: string[]; timeoutMs: number
  /** rows not ok before the drill: the same or better after it is not the drill's doing (reported, not failed) */
  baseline?: {key: string; rating: 'warn' | 'crit'}[]}

/** Append the drill's record (JSON) to the history. */
export type DrillRecordOp = {kind: 'drill.record'; dir: string; scenario: string; env: string; run: string; targets: {rpoSeconds: number; rtoSeconds: number}; scenarioKind: 'availability' | 'data'
  /** the copy in S3 (audit.s3), when configured */
  s3?: {s3: S3Where; bucket: string; key: string}}

export type DrillOperation = DrillKubeSeed | DrillKubeDeleteNamespace | DrillProbeStart | DrillSignal | DrillDeleteRows | DrillDeletePrefix | DrillSwitchWal | DrillAwaitRecovery | DrillVaultctl | DrillVerify | DrillRemoveKept
  | DrillProbeStop | DrillAwaitHealthy | DrillRecordOp

export type DrillOperationResult = {
  'drill.kube-seed': {objects: string[]}
  'drill.kube-delete-namespace': {deleted: boolean; goneAfterMs: number}
  'drill.probe-start': {targets: string[]; seeded?: number; startedAt: string}
  'drill.signal': {signalled: {name: string; pid: number}[]; at: string}
  'drill.delete-rows': {deleted: number; at: string}
  'drill.delete-prefix': {deleted: number; at: string}
  'drill.switch-wal': {lsn: string}
  'drill.await-recovery': {detectedAfterMs?: number; decidedAfterMs?: number; recoveredAfterMs: number; newLeader?: string; newMaster?: string}
  'drill.vaultctl': {exitCode: number; seconds: number; attempts: number; result?: unknown; skipped?: string}
  'drill.verify': {verified: string; afterMs: number}
  'drill.remove-kept': {removed?: string}
  'drill.probe-stop': {measures: TargetMeasure[]; attempts: number; sample: Attempt[]}
  'drill.await-healthy': {healthy: boolean; afterMs: number; left: string[]; preExisting?: string[]}
  'drill.record': {file: string; s3Key?: string; marks: Marks}
}

export const isDrillOperation = (op: {kind: string}): op is DrillOperation => op.kind.startsWith('drill.')

const psql = (endpoints: string[], user: string, database: string, sql: string) =>
  `psql -h "$LEADER_HOST" -p "$LEADER_PORT" -U ${shellQuote(user)} -d ${shellQuote(database)} -c ${shellQuote(sql)}   # the leader: curl -s ${endpoints[0]}/leader`

const kubeArgs = (c: KubeWhere) => ['--kubeconfig', c.kubeconfig, ...(c.context ? ['--context', c.context] : [])]

export function manualDrill(op: DrillOperation): string {
  switch (op.kind) {
    case 'drill.probe-start': {
      const p = op.probe
      const loops = [
        ...(p.postgres ? [`while sleep ${op.probe.intervalMs / 1000}; do psql -c "insert into vaultctl_drill.probe(run, seq) values ('${p.run}', $((++n)))"; done &`] : []),
        ...(p.redis ? [`while sleep ${op.probe.intervalMs / 1000}; do redis-cli -c -h ${p.redis.nodes[0]?.split(':')[0]} -p ${p.redis.nodes[0]?.split(':')[1]} set vaultctl:drill:{${p.run}}:$((++n)) $(date +%s%3N) ex 86400; done &`] : []),
        ...(p.s3 ? [`while sleep ${op.probe.intervalMs / 1000}; do date +%s%3N | aws s3 cp - ${shellQuote(`s3://${p.s3.bucket}/${p.s3.prefix}`)}$((++n)); done &`] : []),
      ]
      const seed = op.seedRows ? [`psql -c "create table if not exists vaultctl_drill.corruption(run text, n int); insert into vaultctl_drill.corruption select '${p.run}', g from generate_series(1, ${op.seedRows}) g"`] : []
      return [...seed, ...loops].join('; ') + '   # every acknowledged write is recorded with its time'
    }
    case 'drill.signal':
      return `${op.fault ? 'FAULT_AT=$(date -u +%FT%T.%3NZ); ' : ''}kill -${op.signal.replace(/^SIG/, '')} ${op.targets.map((t) => `$(head -1 ${shellQuote(t.pidFile)})`).join(' ')}   # ${op.targets.map((t) => t.name).join(', ')}`
    case 'drill.delete-rows':
      return `FAULT_AT=$(date -u +%FT%T.%3NZ); ${psql(op.endpoints, op.user, op.database, `delete from vaultctl_drill.corruption where run = '${op.run}'`)}`
    case 'drill.delete-prefix':
      return `FAULT_AT=$(date -u +%FT%T.%3NZ); ${shellLine(['aws', 's3', 'rm', '--recursive', `s3://${op.bucket}/${op.prefix}`])}`
    case 'drill.switch-wal':
      return psql(op.endpoints, op.user, op.database, 'select pg_switch_wal()')
    case 'drill.await-recovery':
      return op.patroni
        ? `watch -n0.5 ${shellQuote(`curl -s ${op.patroni.endpoints.at(-1)}/cluster`)}   # until a leader other than ${op.patroni.oldLeader} runs, and the probe writes again`
        : `watch -n0.5 ${shellQuote(`redis-cli -h ${op.redis?.nodes.at(-1)?.split(':')[0]} -p ${op.redis?.nodes.at(-1)?.split(':')[1]} cluster nodes`)}   # until ${op.redis?.oldMaster} is marked fail and a replica took its slots, and the probe writes again`
    case 'drill.vaultctl': {
      const line = (argv: string[]) => `vaultctl ${shellLine(argv).replaceAll(shellQuote('{beforeFault}'), '"$BEFORE_FAULT"').replaceAll('{beforeFault}', '"$BEFORE_FAULT"')}`
      if (op.purpose === 'finish') return `${line([...op.argv, '--dry-run', '--json'])} | jq -e .plan.observed.continuing && ${line(op.argv)}   # only after a failure, if the recovery stopped half-way`
      return `${line(op.argv)}${op.argv.includes('{beforeFault}') ? '   # BEFORE_FAULT: 1 ms before $FAULT_AT' : ''}`
    }
    case 'drill.verify':
      if (op.rows) return psql(op.rows.endpoints, op.rows.user, op.rows.database, `select count(*) = ${op.rows.count} from vaultctl_drill.corruption where run = '${op.rows.run}'`)
      if (op.objects) return `${shellLine(['aws', 's3', 'ls', '--recursive', `s3://${op.objects.bucket}/${op.objects.prefix}`])}   # every object the probe wrote before the fault, with its content`
      return `${shellLine(['kubectl', ...kubeArgs(op.namespace!.cluster), 'get', 'configmaps', '-n', op.namespace!.name, '-l', 'vaultctl.io/drill'])}   # ${op.namespace!.configMaps} ConfigMaps back`
    case 'drill.kube-seed':
      return `${shellLine(['kubectl', ...kubeArgs(op.cluster), 'create', 'namespace', op.namespace])} && for i in $(seq 1 ${op.configMaps}); do ${shellLine(['kubectl', ...kubeArgs(op.cluster), '-n', op.namespace, 'create', 'configmap'])} drill-$i --from-literal=n=$i; done`
    case 'drill.kube-delete-namespace':
      return `${op.fault ? 'FAULT_AT=$(date -u +%FT%T.%3NZ); ' : ''}${shellLine(['kubectl', ...kubeArgs(op.cluster), 'delete', 'namespace', op.namespace, '--wait'])}`
    case 'drill.remove-kept':
      return 'rm -rf "$OLD_DATA_DIR"   # the data directory the restore kept (its result: cluster.oldDataDir)'
    case 'drill.probe-stop':
      return 'kill %1; psql -c "select seq from vaultctl_drill.probe where run = ..."   # every acknowledged sequence number must be there'
    case 'drill.await-healthy':
      return `until vaultctl ${shellLine(op.argv)}; do sleep 2; done`
    case 'drill.record':
      return `vaultctl drill report --scenario ${op.scenario}   # the record: ${op.dir}/${op.env}/${op.scenario}/${op.run}.json${op.s3 ? ` and s3://${op.s3.bucket}/${op.s3.key}` : ''}`
  }
}
