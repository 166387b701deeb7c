// Aurora PostgreSQL and plain RDS point-in-time restore. Aurora: RestoreDBClusterToPointInTime
// makes a new cluster with NO instances, so CreateDBInstance follows; security groups, subnet
// group and parameter groups are passed explicitly from the source (RDS would use defaults).
// Plain RDS: RestoreDBInstanceToPointInTime. T is checked against the restorable window first.
import {describeCluster, describeInstance, instanceRestoreWindow, rdsClient, sendCall, type RdsCall, type RdsConn} from '../clients/rds.js'
import {failure, refusal, timedOut, usageError} from '../errors.js'
import type {Plan, Step} from '../plan/types.js'
import {describeTarget, type RecoveryTarget} from '../restore/target.js'

export type RdsSource = {engine: 'aurora-postgresql' | 'postgres'; id: string; conn: RdsConn}
export type RdsOutcome = {newId?: string; instanceId?: string; window?: {earliest?: string; latest?: string}; calls?: RdsCall[]; endpoint?: string; status?: string}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const kebab = (s: string) => s.replace(/DB/g, 'Db').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()

/** The aws CLI spelling of a call, for the plan's manual column. */
export function awsCli(call: RdsCall): string {
  const args = Object.entries(call.params).map(([k, v]) => {
    const flag = `--${kebab(k)}`
    if (v === true) return flag
    if (v === false) return `--no-${kebab(k)}`
    if (Array.isArray(v)) return `${flag} ${v.join(' ')}`
    return `${flag} ${v instanceof Date ? v.toISOString() : String(v)}`
  })
  return `aws rds ${kebab(call.api)} ${args.join(' ')}`
}

function inWindow(t: RecoveryTarget, earliest?: Date, latest?: Date): void {
  if (t.kind === 'lsn') throw usageError('NO_LSN_ON_RDS', '--target-lsn is not available for RDS/Aurora: use --target-time or --latest')
  if (t.kind !== 'time') return
  if ((earliest && t.time < earliest) || (latest && t.time > latest)) {
    throw refusal('TARGET_OUTSIDE_WINDOW', `${describeTarget(t)} is outside the restorable window [${earliest?.toISOString() ?? '?'} .. ${latest?.toISOString() ?? '?'}]`,
      ['Pick a time inside the window, or --latest (UseLatestRestorableTime).'], {window: {earliest, latest}})
  }
}

async function waitAvailable(what: string, timeoutMs: number, read: () => Promise<string | undefined>, note: (m: string) => void): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let status: string | undefined
  while (Date.now() < deadline) {
    status = await read()
    if (status === 'available') return status
    if (status && /failed|incompatible/.test(status)) throw failure('RDS_FAILED', `${what} is ${status}`)
    note(`${what}: ${status ?? 'not visible yet'}`)
    await sleep(5000)
  }
  throw timedOut('RDS_TIMEOUT', `${what} not available after ${timeoutMs / 1000} s (last: ${status})`, ['AWS keeps going: watch it with `aws rds describe-db-clusters` / `describe-db-instances`.'])
}

function callStep(src: RdsSource, id: string, title: string, call: RdsCall): Step {
  return {id, title, risk: 'write', manual: awsCli(call), async run() {
    const c = await rdsClient(src.conn)
    try {
      await sendCall(c, call)
    } finally {
      c.destroy()
    }
  }}
}

export async function planRdsPitr(src: RdsSource, env: {name: string; protected: boolean}, target: RecoveryTarget, newId: string, timeoutMs: number, out: RdsOutcome): Promise<Plan> {
  const client = await rdsClient(src.conn)
  try {
    if (src.engine === 'aurora-postgresql') {
      const cluster = await describeCluster(client, src.id)
      if (!cluster) throw usageError('RDS_NOT_FOUND', `Aurora cluster ${src.id} not found in ${src.conn.region}`)
      if (await describeCluster(client, newId)) throw refusal('RDS_EXISTS', `a DB cluster named ${newId} already exists`, ['Pass another --new-id.'])
      inWindow(target, cluster.EarliestRestorableTime, cluster.LatestRestorableTime)
      out.window = {earliest: cluster.EarliestRestorableTime?.toISOString(), latest: cluster.LatestRestorableTime?.toISOString()}
      const writer = cluster.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier
      const writerInstance = writer ? await describeInstance(client, writer) : undefined
      const restore: RdsCall = {api: 'RestoreDBClusterToPointInTime', params: {
        DBClusterIdentifier: newId, SourceDBClusterIdentifier: src.id, RestoreType: 'full-copy',
        ...(target.kind === 'time' ? {RestoreToTime: target.time} : {UseLatestRestorableTime: true}),
        ...(cluster.VpcSecurityGroups?.length ? {VpcSecurityGroupIds: cluster.VpcSecurityGroups.map((g) => g.VpcSecurityGroupId!)} : {}),
        ...(cluster.DBSubnetGroup ? {DBSubnetGroupName: cluster.DBSubnetGroup} : {}),
        ...(cluster.DBClusterParameterGroup ? {DBClusterParameterGroupName: cluster.DBClusterParameterGroup} : {}),
      }}
      const instanceId = `${newId}-1`
      const create: RdsCall = {api: 'CreateDBInstance', params: {
        DBInstanceIdentifier: instanceId, DBClusterIdentifier: newId, Engine: cluster.Engine ?? 'aurora-postgresql',
        DBInstanceClass: writerInstance?.DBInstanceClass ?? 'db.r6g.large',
        ...(writerInstance?.DBParameterGroups?.[0]?.DBParameterGroupName ? {DBParameterGroupName: writerInstance.DBParameterGroups[0].DBParameterGroupName} : {}),
      }}
      Object.assign(out, {newId, instanceId, calls: [restore, create]})
      return {command: 'restore pitr', env: env.name, protected: env.protected, preconditions: [],
        summary: `Aurora PITR: new cluster ${newId} from ${src.id} at ${describeTarget(target)}, then its instance ${instanceId}`,
        observed: {window: out.window, securityGroups: restore.params.VpcSecurityGroupIds ?? [], subnetGroup: cluster.DBSubnetGroup ?? null, clusterParameterGroup: cluster.DBClusterParameterGroup ?? null, writer: writer ?? null},
        steps: [
          callStep(src, 'restore-cluster', `RestoreDBClusterToPointInTime ${src.id} -> ${newId} (${describeTarget(target)})`, restore),
          callStep(src, 'create-instance', `CreateDBInstance ${instanceId} in ${newId} (an Aurora restore has no instances)`, create),
          {id: 'wait-available', title: `wait until cluster ${newId} and instance ${instanceId} are available`, risk: 'read',
            manual: `aws rds wait db-cluster-available --db-cluster-identifier ${newId} && aws rds wait db-instance-available --db-instance-identifier ${instanceId}`,
            async run(ctx) {
              const c = await rdsClient(src.conn)
              try {
                await waitAvailable(`cluster ${newId}`, timeoutMs, async () => (await describeCluster(c, newId))?.Status, ctx.note)
                out.status = await waitAvailable(`instance ${instanceId}`, timeoutMs, async () => (await describeInstance(c, instanceId))?.DBInstanceStatus, ctx.note)
                out.endpoint = (await describeCluster(c, newId))?.Endpoint
              } finally {
                c.destroy()
              }
            }},
        ]}
    }
    const inst = await describeInstance(client, src.id)
    if (!inst) throw usageError('RDS_NOT_FOUND', `RDS instance ${src.id} not found in ${src.conn.region}`)
    if (await describeInstance(client, newId)) throw refusal('RDS_EXISTS', `a DB instance named ${newId} already exists`, ['Pass another --new-id.'])
    const w = await instanceRestoreWindow(client, src.id)
    const earliest = w.earliest ?? inst.InstanceCreateTime
    const latest = w.latest ?? inst.LatestRestorableTime
    inWindow(target, earliest, latest)
    out.window = {earliest: earliest?.toISOString(), latest: latest?.toISOString()}
    const call: RdsCall = {api: 'RestoreDBInstanceToPointInTime', params: {
      SourceDBInstanceIdentifier: src.id, TargetDBInstanceIdentifier: newId, ...(target.kind === 'time' ? {RestoreTime: target.time} : {UseLatestRestorableTime: true}),
      ...(inst.DBInstanceClass ? {DBInstanceClass: inst.DBInstanceClass} : {}), MultiAZ: inst.MultiAZ ?? false,
      ...(inst.VpcSecurityGroups?.length ? {VpcSecurityGroupIds: inst.VpcSecurityGroups.map((g) => g.VpcSecurityGroupId!)} : {}),
      ...(inst.DBSubnetGroup?.DBSubnetGroupName ? {DBSubnetGroupName: inst.DBSubnetGroup.DBSubnetGroupName} : {}),
      ...(inst.DBParameterGroups?.[0]?.DBParameterGroupName ? {DBParameterGroupName: inst.DBParameterGroups[0].DBParameterGroupName} : {}),
    }}
    Object.assign(out, {newId, calls: [call]})
    return {command: 'restore pitr', env: env.name, protected: env.protected, preconditions: [],
      summary: `RDS PITR: new instance ${newId} from ${src.id} at ${describeTarget(target)}`, observed: {window: out.window},
      steps: [
        callStep(src, 'restore-instance', `RestoreDBInstanceToPointInTime ${src.id} -> ${newId}`, call),
        {id: 'wait-available', title: `wait until instance ${newId} is available`, risk: 'read', manual: `aws rds wait db-instance-available --db-instance-identifier ${newId}`,
          async run(ctx) {
            const c = await rdsClient(src.conn)
            try {
              out.status = await waitAvailable(`instance ${newId}`, timeoutMs, async () => (await describeInstance(c, newId))?.DBInstanceStatus, ctx.note)
              out.endpoint = (await describeInstance(c, newId))?.Endpoint?.Address
            } finally {
              c.destroy()
            }
          }},
      ]}
  } finally {
    client.destroy()
  }
}
