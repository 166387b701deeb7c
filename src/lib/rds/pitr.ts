// Aurora PostgreSQL and plain RDS point-in-time restore. Aurora: RestoreDBClusterToPointInTime
// makes a new cluster with NO instances, so CreateDBInstance follows; security groups, subnet
// group and parameter groups are passed explicitly from the source (RDS would use defaults).
// Plain RDS: RestoreDBInstanceToPointInTime. T is checked against the restorable window first.
import {describeCluster, describeInstance, instanceRestoreWindow, rdsClient, type DBCluster, type DBInstance, type RdsCall, type RdsConn} from '../clients/rds.js'
import {refusal, usageError} from '../errors.js'
import type {Plan} from '../plan/types.js'
import {describeTarget, type RecoveryTarget} from '../restore/target.js'

export type RdsSource = {engine: 'aurora-postgresql' | 'postgres'; id: string; conn: RdsConn}
export type RdsOutcome = {newId?: string; instanceId?: string; window?: {earliest?: string; latest?: string}; calls?: RdsCall[]; endpoint?: string; status?: string}

function inWindow(t: RecoveryTarget, earliest?: Date, latest?: Date): void {
  if (t.kind === 'lsn') throw usageError('NO_LSN_ON_RDS', '--target-lsn is not available for RDS/Aurora: use --target-time or --latest')
  if (t.kind !== 'time') return
  if ((earliest && t.time < earliest) || (latest && t.time > latest)) {
    throw refusal('TARGET_OUTSIDE_WINDOW', `${describeTarget(t)} is outside the restorable window [${earliest?.toISOString() ?? '?'} .. ${latest?.toISOString() ?? '?'}]`,
      ['Pick a time inside the window, or --latest (UseLatestRestorableTime).'], {window: {earliest, latest}})
  }
}

/** Plan parameters as JSON: timestamps as ISO strings (printed and sent alike). */
const jsonParams = (p: Record<string, unknown>) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]))

/** What an RDS/Aurora restore is planned from: the source (cluster and writer, or instance), its window, and whether the new name is taken. */
export type RdsState =
  | {engine: 'aurora-postgresql'; cluster: DBCluster; writerInstance?: DBInstance; newIdTaken: boolean}
  | {engine: 'postgres'; instance: DBInstance; window: {earliest?: Date; latest?: Date}; newIdTaken: boolean}

export async function observeRds(src: RdsSource, newId: string): Promise<RdsState> {
  const client = await rdsClient(src.conn)
  try {
    if (src.engine === 'aurora-postgresql') {
      const cluster = await describeCluster(client, src.id)
      if (!cluster) throw usageError('RDS_NOT_FOUND', `Aurora cluster ${src.id} not found in ${src.conn.region}`)
      const writer = cluster.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier
      const writerInstance = writer ? await describeInstance(client, writer) : undefined
      return {engine: src.engine, cluster, ...(writerInstance ? {writerInstance} : {}), newIdTaken: Boolean(await describeCluster(client, newId))}
    }
    const instance = await describeInstance(client, src.id)
    if (!instance) throw usageError('RDS_NOT_FOUND', `RDS instance ${src.id} not found in ${src.conn.region}`)
    const w = await instanceRestoreWindow(client, src.id)
    return {engine: src.engine, instance, window: {earliest: w.earliest ?? instance.InstanceCreateTime, latest: w.latest ?? instance.LatestRestorableTime},
      newIdTaken: Boolean(await describeInstance(client, newId))}
  } finally {
    client.destroy()
  }
}

type Planned = {plan: Plan; outcome: RdsOutcome}
type Where = {region: string; endpoint?: string}

function planAurora(src: RdsSource, env: {name: string; protected: boolean}, target: RecoveryTarget, newId: string, timeoutMs: number, s: Extract<RdsState, {engine: 'aurora-postgresql'}>, where: Where): Planned {
  const {cluster, writerInstance} = s
  if (s.newIdTaken) throw refusal('RDS_EXISTS', `a DB cluster named ${newId} already exists`, ['Pass another --new-id.'])
  inWindow(target, cluster.EarliestRestorableTime, cluster.LatestRestorableTime)
  const window = {earliest: cluster.EarliestRestorableTime?.toISOString(), latest: cluster.LatestRestorableTime?.toISOString()}
  const restore: RdsCall = {api: 'RestoreDBClusterToPointInTime', params: jsonParams({
    DBClusterIdentifier: newId, SourceDBClusterIdentifier: src.id, RestoreType: 'full-copy',
    ...(target.kind === 'time' ? {RestoreToTime: target.time} : {UseLatestRestorableTime: true}),
    ...(cluster.VpcSecurityGroups?.length ? {VpcSecurityGroupIds: cluster.VpcSecurityGroups.map((g) => g.VpcSecurityGroupId!)} : {}),
    ...(cluster.DBSubnetGroup ? {DBSubnetGroupName: cluster.DBSubnetGroup} : {}),
    ...(cluster.DBClusterParameterGroup ? {DBClusterParameterGroupName: cluster.DBClusterParameterGroup} : {}),
  })}
  const instanceId = `${newId}-1`
  const create: RdsCall = {api: 'CreateDBInstance', params: {
    DBInstanceIdentifier: instanceId, DBClusterIdentifier: newId, Engine: cluster.Engine ?? 'aurora-postgresql',
    DBInstanceClass: writerInstance?.DBInstanceClass ?? 'db.r6g.large',
    ...(writerInstance?.DBParameterGroups?.[0]?.DBParameterGroupName ? {DBParameterGroupName: writerInstance.DBParameterGroups[0].DBParameterGroupName} : {}),
  }}
  return {outcome: {newId, instanceId, window, calls: [restore, create]}, plan: {command: 'restore pitr', env: env.name, protected: env.protected, preconditions: [],
    summary: `Aurora PITR: new cluster ${newId} from ${src.id} at ${describeTarget(target)}, then its instance ${instanceId}`,
    observed: {window, securityGroups: restore.params.VpcSecurityGroupIds ?? [], subnetGroup: cluster.DBSubnetGroup ?? null, clusterParameterGroup: cluster.DBClusterParameterGroup ?? null,
      writer: writerInstance?.DBInstanceIdentifier ?? null},
    fingerprint: {source: src.id, newIdTaken: s.newIdTaken, status: cluster.Status ?? null},
    steps: [
      {id: 'restore-cluster', title: `RestoreDBClusterToPointInTime ${src.id} -> ${newId} (${describeTarget(target)})`, risk: 'write', op: {...where, kind: 'rds.call', call: restore}},
      {id: 'create-instance', title: `CreateDBInstance ${instanceId} in ${newId} (an Aurora restore has no instances)`, risk: 'write', op: {...where, kind: 'rds.call', call: create}},
      {id: 'wait-available', title: `wait until cluster ${newId} and instance ${instanceId} are available`, risk: 'read',
        op: {...where, kind: 'rds.await-available', cluster: newId, instance: instanceId, timeoutMs}},
    ]}}
}

/** The plan of an RDS/Aurora point-in-time restore, from the observed state (pure). */
export function planRdsPitr(src: RdsSource, env: {name: string; protected: boolean}, target: RecoveryTarget, newId: string, timeoutMs: number, s: RdsState): Planned {
  const where = {region: src.conn.region, ...(src.conn.endpoint ? {endpoint: src.conn.endpoint} : {})}
  if (s.engine === 'aurora-postgresql') return planAurora(src, env, target, newId, timeoutMs, s, where)
  const inst = s.instance
  if (s.newIdTaken) throw refusal('RDS_EXISTS', `a DB instance named ${newId} already exists`, ['Pass another --new-id.'])
  inWindow(target, s.window.earliest, s.window.latest)
  const window = {earliest: s.window.earliest?.toISOString(), latest: s.window.latest?.toISOString()}
  const call: RdsCall = {api: 'RestoreDBInstanceToPointInTime', params: jsonParams({
    SourceDBInstanceIdentifier: src.id, TargetDBInstanceIdentifier: newId, ...(target.kind === 'time' ? {RestoreTime: target.time} : {UseLatestRestorableTime: true}),
    ...(inst.DBInstanceClass ? {DBInstanceClass: inst.DBInstanceClass} : {}), MultiAZ: inst.MultiAZ ?? false,
    ...(inst.VpcSecurityGroups?.length ? {VpcSecurityGroupIds: inst.VpcSecurityGroups.map((g) => g.VpcSecurityGroupId!)} : {}),
    ...(inst.DBSubnetGroup?.DBSubnetGroupName ? {DBSubnetGroupName: inst.DBSubnetGroup.DBSubnetGroupName} : {}),
    ...(inst.DBParameterGroups?.[0]?.DBParameterGroupName ? {DBParameterGroupName: inst.DBParameterGroups[0].DBParameterGroupName} : {}),
  })}
  return {outcome: {newId, window, calls: [call]}, plan: {command: 'restore pitr', env: env.name, protected: env.protected, preconditions: [],
    summary: `RDS PITR: new instance ${newId} from ${src.id} at ${describeTarget(target)}`, observed: {window},
    fingerprint: {source: src.id, newIdTaken: s.newIdTaken, status: inst.DBInstanceStatus ?? null},
    steps: [
      {id: 'restore-instance', title: `RestoreDBInstanceToPointInTime ${src.id} -> ${newId}`, risk: 'write', op: {...where, kind: 'rds.call', call}},
      {id: 'wait-available', title: `wait until instance ${newId} is available`, risk: 'read', op: {...where, kind: 'rds.await-available', instance: newId, timeoutMs}},
    ]}}
}
