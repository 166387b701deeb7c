// `drill run`: from the scenarios asked for (or a schedule's) to the plans, and from each executed
// plan to its outcome. The command stays thin; this is where the environment meets the planner.
import {dirname, join} from 'node:path'
import type {ResolvedEnvironment} from '../config/load.js'
import {resolveSecret} from '../config/secrets.js'
import {usageError} from '../errors.js'
import {s3Conn} from '../s3/conn.js'
import type {OperationSecrets} from '../clients/operations.js'
import type {ExecutionResult, Plan, PlanData} from '../plan/types.js'
import type {DrillRecord} from './history.js'
import {observeDrill} from './observe.js'
import {planDrill, unsupported, type DrillOptions} from './plan.js'
import {isScenario, scenariosFor, SCENARIOS, targetsOf, type Cadence, type ScenarioId} from './scenarios.js'

export type DrillOutcome = {scenario: ScenarioId; run?: string; plan?: PlanData; record?: DrillRecord; execution?: ExecutionResult; error?: {code: string; message: string; suggestions?: string[]}}
export type DrillRunSummary = {dryRun: boolean; env: string; met: boolean; drills: DrillOutcome[]; skipped: {scenario: ScenarioId; reason: string}[]}

export function chooseScenarios(args: string[], schedule?: string): ScenarioId[] {
  if (args.length && schedule) throw usageError('USAGE', 'name scenarios or --schedule, not both')
  if (schedule) return scenariosFor(schedule as Cadence)
  if (args.length === 0) throw usageError('NO_SCENARIO', 'say which drill to run: vaultctl drill run SCENARIO (or --schedule weekly)', [`Scenarios: ${SCENARIOS.join(', ')}. \`vaultctl drill list\` describes them.`])
  for (const a of args) if (!isScenario(a)) throw usageError('UNKNOWN_SCENARIO', `no drill scenario "${a}"`, [`Scenarios: ${SCENARIOS.join(', ')}.`])
  return args as ScenarioId[]
}

export function drillSecrets(r: ResolvedEnvironment): OperationSecrets {
  const e = r.env
  const pg = e.postgres?.kind === 'patroni' && e.postgres.passwordFrom ? resolveSecret(e.postgres.passwordFrom, 'postgres.passwordFrom') : undefined
  const redis = e.redis?.passwordFrom ? resolveSecret(e.redis.passwordFrom, 'redis.passwordFrom') : undefined
  const s3 = e.s3 ? s3Conn(e.s3) : undefined
  return {...(pg ? {pgPassword: pg} : {}), ...(redis ? {redisPassword: redis} : {}), ...(s3 ? {s3: {accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey}} : {})}
}

export const historyDirOf = (auditFile: string) => join(dirname(auditFile), 'drills')

/** Observe and plan one scenario; undefined (with the reason) when the environment cannot run it. */
export async function prepareDrill(id: ScenarioId, r: ResolvedEnvironment, historyDir: string, o: Omit<DrillOptions, 'targets'>, skipUnsupported: boolean): Promise<{plan: Plan} | {skip: string}> {
  const observed = await observeDrill(id, r, historyDir)
  const why = unsupported(id, observed)
  // A schedule runs what the environment supports; a scenario named on the command line is refused (planDrill says why).
  if (why && skipUnsupported) return {skip: why}
  return {plan: planDrill(id, observed, {name: r.name, protected: r.env.protected}, {...o, targets: targetsOf(r.env)[id]})}
}
