// The PostgreSQL side of an environment as failover and restore need it.
import type {Environment} from '../config/schema.js'
import {resolveSecret} from '../config/secrets.js'
import {usageError} from '../errors.js'
import type {PgTarget} from './switchover.js'

export function patroniTarget(env: Environment, envName: string): PgTarget {
  const pg = env.postgres
  if (!pg) throw usageError('NO_POSTGRES', `environment "${envName}" has no postgres section`, ['Add postgres: {kind: patroni, ...} to the config (see README).'])
  if (pg.kind !== 'patroni') throw usageError('NOT_PATRONI', `environment "${envName}" runs RDS/Aurora: Patroni switchover does not apply`, ['Aurora/RDS fail over through AWS (`aws rds failover-db-cluster`).'])
  return {
    name: pg.cluster,
    endpoints: pg.endpoints,
    user: pg.user,
    database: pg.database,
    password: pg.passwordFrom ? resolveSecret(pg.passwordFrom, 'postgres.passwordFrom') : undefined,
    patroniConfigHint: pg.patronictlConfig,
    ...(pg.rest ? {rest: {...(pg.rest.username ? {username: pg.rest.username} : {}), ...(pg.rest.caFile ? {caFile: pg.rest.caFile} : {})}} : {}),
  }
}
