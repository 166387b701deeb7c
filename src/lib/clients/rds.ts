// The RDS API through @aws-sdk/client-rds (imported lazily): Aurora and plain RDS PITR.
import type {RDSClient, DBCluster, DBInstance} from '@aws-sdk/client-rds'

export type RdsConn = {region: string; endpoint?: string; accessKeyId?: string; secretAccessKey?: string}
export type {DBCluster, DBInstance}

export async function rdsClient(c: RdsConn): Promise<RDSClient> {
  const {RDSClient} = await import('@aws-sdk/client-rds')
  return new RDSClient({region: c.region, endpoint: c.endpoint, maxAttempts: 3,
    ...(c.accessKeyId && c.secretAccessKey ? {credentials: {accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey}} : {})})
}

export async function describeCluster(client: RDSClient, id: string): Promise<DBCluster | undefined> {
  const {DescribeDBClustersCommand} = await import('@aws-sdk/client-rds')
  try {
    return (await client.send(new DescribeDBClustersCommand({DBClusterIdentifier: id}))).DBClusters?.[0]
  } catch (error) {
    if ((error as {name?: string}).name === 'DBClusterNotFoundFault') return undefined
    throw error
  }
}

export async function describeInstance(client: RDSClient, id: string): Promise<DBInstance | undefined> {
  const {DescribeDBInstancesCommand} = await import('@aws-sdk/client-rds')
  try {
    return (await client.send(new DescribeDBInstancesCommand({DBInstanceIdentifier: id}))).DBInstances?.[0]
  } catch (error) {
    if ((error as {name?: string}).name === 'DBInstanceNotFound' || (error as {name?: string}).name === 'DBInstanceNotFoundFault') return undefined
    throw error
  }
}

/** The earliest point of an instance's automated backups, when the API reports it. */
export async function instanceRestoreWindow(client: RDSClient, id: string): Promise<{earliest?: Date; latest?: Date}> {
  const {DescribeDBInstanceAutomatedBackupsCommand} = await import('@aws-sdk/client-rds')
  try {
    const b = (await client.send(new DescribeDBInstanceAutomatedBackupsCommand({DBInstanceIdentifier: id}))).DBInstanceAutomatedBackups?.[0]
    return {earliest: b?.RestoreWindow?.EarliestTime, latest: b?.RestoreWindow?.LatestTime}
  } catch {
    return {}
  }
}

export type RdsCall = {api: string; params: Record<string, unknown>}

/** Send one planned call (the plan holds the same object it prints). */
export async function sendCall(client: RDSClient, call: RdsCall): Promise<unknown> {
  const mod = await import('@aws-sdk/client-rds') as unknown as Record<string, new (p: unknown) => never>
  const Cmd = mod[`${call.api}Command`]
  if (!Cmd) throw new Error(`unknown RDS API ${call.api}`)
  return client.send(new Cmd(call.params))
}
