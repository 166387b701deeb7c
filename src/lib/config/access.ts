// How this run reaches the environment's systems: Patroni REST authentication and HTTPS,
// PostgreSQL TLS, Redis ACL user and TLS, the S3 endpoint's CA. Set once per run on the clients
// (operations carry endpoints, never credentials); secrets resolved only when first used.
import {setPatroniAccess} from '../clients/patroni.js'
import {setPgTls} from '../clients/postgres.js'
import {setRedisAccess} from '../clients/redis.js'
import {setS3Tls} from '../clients/s3.js'
import type {Environment} from './schema.js'
import {resolveSecret} from './secrets.js'

/** Apply the environment's access settings; returns the warnings to print (insecureSkipVerify). */
export function applyAccess(name: string, env: Environment): string[] {
  const warnings: string[] = []
  const insecure = (where: string) => warnings.push(`Warning: ${where}.insecureSkipVerify is set in environment ${name}: the server's certificate is NOT verified (anyone on the path can read and change this traffic).`)
  const pg = env.postgres?.kind === 'patroni' ? env.postgres : undefined
  const rest = pg?.rest
  setPatroniAccess(rest ? () => ({
    ...(rest.username ? {username: rest.username} : {}),
    ...(rest.passwordFrom ? {password: resolveSecret(rest.passwordFrom, 'postgres.rest.passwordFrom')} : {}),
    ...(rest.caFile ? {caFile: rest.caFile} : {}), ...(rest.certFile ? {certFile: rest.certFile} : {}), ...(rest.keyFile ? {keyFile: rest.keyFile} : {}),
    ...(rest.insecureSkipVerify ? {insecureSkipVerify: true} : {}),
  }) : undefined)
  if (rest?.insecureSkipVerify) insecure('postgres.rest')
  setPgTls(pg?.tls)
  setRedisAccess({...(env.redis?.username ? {username: env.redis.username} : {}), ...(env.redis?.tls ? {tls: env.redis.tls} : {})})
  if (env.redis?.tls?.insecureSkipVerify) insecure('redis.tls')
  setS3Tls({...(env.s3?.caFile ? {caFile: env.s3.caFile} : {}), ...(env.s3?.insecureSkipVerify ? {insecureSkipVerify: true} : {})})
  if (env.s3?.insecureSkipVerify) insecure('s3')
  return warnings
}
