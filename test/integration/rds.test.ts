// Aurora PostgreSQL and plain RDS point-in-time restore against the moto server's RDS API (the
// test run's second, moto-based S3 lab: the main lab's S3 is MinIO).
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {CreateDBClusterCommand, CreateDBClusterParameterGroupCommand, CreateDBInstanceCommand, CreateDBParameterGroupCommand, RDSClient} from '@aws-sdk/client-rds'
import {stringify} from 'yaml'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import type {RestorePitrResult} from '../../src/commands/restore/pitr.js'
import {describeCluster, describeInstance} from '../../src/lib/clients/rds.js'
import {labCli, labPorts} from '../helpers/lab.js'

const motoDir = () => inject('motoLabDir')
const endpoint = () => `http://127.0.0.1:${labPorts(motoDir()!).s3}`
const region = 'us-west-2'
const suffix = Date.now().toString(36)
const aurora = `vault-aurora-${suffix}`
const plain = `vault-rds-${suffix}`
let config: string
let rds: RDSClient

beforeAll(async () => {
  const lab = motoDir()
  if (!lab) return
  const dir = mkdtempSync(join(tmpdir(), 'vaultctl-rds-'))
  config = join(dir, 'vaultctl.yaml')
  const creds = {accessKeyIdFrom: {file: join(lab, 'secrets', 's3-access-key')}, secretAccessKeyFrom: {file: join(lab, 'secrets', 's3-secret-key')}}
  writeFileSync(config, stringify({apiVersion: 'vaultctl/v1', environments: {
    aurora: {postgres: {kind: 'rds', engine: 'aurora-postgresql', clusterId: aurora, region, apiEndpoint: endpoint(), ...creds}},
    plain: {postgres: {kind: 'rds', engine: 'postgres', clusterId: plain, region, apiEndpoint: endpoint(), ...creds}},
  }}))
  rds = new RDSClient({region, endpoint: endpoint(), credentials: {accessKeyId: 'test', secretAccessKey: 'test'}})
  await rds.send(new CreateDBClusterParameterGroupCommand({DBClusterParameterGroupName: `vault-apg-${suffix}`, DBParameterGroupFamily: 'aurora-postgresql15', Description: 'vault'}))
  await rds.send(new CreateDBParameterGroupCommand({DBParameterGroupName: `vault-pg-${suffix}`, DBParameterGroupFamily: 'aurora-postgresql15', Description: 'vault'}))
  await rds.send(new CreateDBClusterCommand({DBClusterIdentifier: aurora, Engine: 'aurora-postgresql', EngineVersion: '15.4', MasterUsername: 'vault', MasterUserPassword: 'not-a-real-secret-1',
    DBClusterParameterGroupName: `vault-apg-${suffix}`, VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718']}))
  await rds.send(new CreateDBInstanceCommand({DBInstanceIdentifier: `${aurora}-w`, DBClusterIdentifier: aurora, Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.xlarge', DBParameterGroupName: `vault-pg-${suffix}`}))
  await rds.send(new CreateDBInstanceCommand({DBInstanceIdentifier: plain, Engine: 'postgres', DBInstanceClass: 'db.m6g.large', AllocatedStorage: 50, MasterUsername: 'vault', MasterUserPassword: 'not-a-real-secret-2'}))
})

const restore = async (env: string, args: string[]) => {
  const r = await labCli(['restore', 'pitr', '--config', config, '--env', env, '--json', ...args])
  return {code: r.code, res: r.json<RestorePitrResult & {error?: {code: string; message: string}}>()}
}

const noMoto = !inject('motoLabDir')
const why = noMoto ? ' (skipped: VAULTCTL_TEST_SKIP_MOTO=1, no moto for the RDS API)' : ''

describe.skipIf(noMoto)(`Aurora PostgreSQL PITR${why}`, () => {
  it('--dry-run prints the exact API calls, sources copied explicitly, and creates nothing', async () => {
    const {code, res} = await restore('aurora', ['--latest', '--new-id', `${aurora}-dry`, '--dry-run'])
    expect(code).toBe(0)
    const [restoreCall, create] = res.rds!.calls!
    expect(restoreCall).toEqual({api: 'RestoreDBClusterToPointInTime', params: {DBClusterIdentifier: `${aurora}-dry`, SourceDBClusterIdentifier: aurora, RestoreType: 'full-copy',
      UseLatestRestorableTime: true, VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718'], DBSubnetGroupName: 'default', DBClusterParameterGroupName: `vault-apg-${suffix}`}})
    expect(create).toEqual({api: 'CreateDBInstance', params: {DBInstanceIdentifier: `${aurora}-dry-1`, DBClusterIdentifier: `${aurora}-dry`, Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.xlarge', DBParameterGroupName: `vault-pg-${suffix}`}})
    expect(res.plan.steps[0]!.manual).toBe(`aws rds restore-db-cluster-to-point-in-time --db-cluster-identifier ${aurora}-dry --source-db-cluster-identifier ${aurora} --restore-type full-copy --use-latest-restorable-time --vpc-security-group-ids sg-0a1b2c3d4e5f60718 --db-subnet-group-name default --db-cluster-parameter-group-name vault-apg-${suffix}`)
    expect(res.plan.steps[1]!.manual).toMatch(/^aws rds create-db-instance --db-instance-identifier .*-dry-1 --db-cluster-identifier .*-dry --engine aurora-postgresql --db-instance-class db\.r6g\.xlarge/)
    expect(await describeCluster(rds, `${aurora}-dry`)).toBeUndefined()
  })

  it('restores to a time in the window: a new cluster, then its instance, both available', async () => {
    const t = new Date(Date.now() - 500)
    const {code, res} = await restore('aurora', ['--target-time', t.toISOString(), '--new-id', `${aurora}-r1`])
    expect(code).toBe(0)
    expect(res.rds?.calls?.[0]?.params.RestoreToTime).toBe(t.toISOString())
    const c = await describeCluster(rds, `${aurora}-r1`)
    expect(c?.DBClusterParameterGroup).toBe(`vault-apg-${suffix}`)
    expect(c?.DBClusterMembers?.map((m) => m.DBInstanceIdentifier)).toContain(`${aurora}-r1-1`)
    expect((await describeInstance(rds, `${aurora}-r1-1`))?.DBInstanceStatus).toBe('available')
  })

  it('refuses a time outside [EarliestRestorableTime, LatestRestorableTime] (exit 3), and an existing new id', async () => {
    const early = await restore('aurora', ['--target-time', '2020-01-01T00:00:00Z', '--new-id', `${aurora}-r2`])
    expect(early.code).toBe(3)
    expect(early.res.error?.message).toMatch(/outside the restorable window \[\d{4}-/)
    const exists = await restore('aurora', ['--latest', '--new-id', `${aurora}-r1`])
    expect(exists.code).toBe(3)
    expect(await describeCluster(rds, `${aurora}-r2`)).toBeUndefined()
  })
})

describe.skipIf(noMoto)(`plain RDS PITR${why}`, () => {
  it('RestoreDBInstanceToPointInTime into a new instance', async () => {
    const {code, res} = await restore('plain', ['--latest', '--new-id', `${plain}-r1`])
    expect(code).toBe(0)
    expect(res.rds?.calls?.[0]).toMatchObject({api: 'RestoreDBInstanceToPointInTime', params: {SourceDBInstanceIdentifier: plain, TargetDBInstanceIdentifier: `${plain}-r1`, UseLatestRestorableTime: true, DBInstanceClass: 'db.m6g.large'}})
    expect((await describeInstance(rds, `${plain}-r1`))?.DBInstanceStatus).toBe('available')
  })

  it('a restore planned to a file creates nothing; apply sends exactly the saved call; a second apply is refused (the name is taken)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-rds-plan-')), 'rds.json')
    const planned = await labCli(['restore', 'pitr', '--config', config, '--env', 'plain', '--latest', '--new-id', `${plain}-r2`, '--plan-out', file])
    expect(planned.code, planned.stderr).toBe(0)
    expect(await describeInstance(rds, `${plain}-r2`)).toBeUndefined()
    const applied = await labCli(['apply', file, '--config', config, '--json'])
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.json<RestorePitrResult>().rds).toMatchObject({newId: `${plain}-r2`, status: 'available'})
    expect((await describeInstance(rds, `${plain}-r2`))?.DBInstanceStatus).toBe('available')
    const again = await labCli(['apply', file, '--config', config, '--json'])
    expect(again.code).toBe(3)
    expect(again.stdout).toMatch(/RDS_EXISTS|PLAN_DRIFT/)
  })
})
