// What `provision` renders from: the profile's defaults (templates/eksctl/profiles.yaml) with the
// environment's own provision settings over them, checked as a whole. Problems name the path in
// the config file (environments.<env>.provision...).
import {z} from 'zod'
import type {ResolvedEnvironment} from '../config/load.js'
import {formatIssuePath} from '../config/load.js'
import {usageError} from '../errors.js'
import {instanceTypeProblem} from './instance-types.js'
import {readYamlTemplate} from '../template.js'

export const PROFILES = ['production', 'staging', 'development', 'lab'] as const
export type Profile = (typeof PROFILES)[number]

const count = z.number().int().min(0)
const Pool = z.strictObject({instanceType: z.string(), minSize: count, maxSize: count.min(1), desiredCapacity: count, volumeSize: z.number().int().min(8)})

export const ResolvedProvisionSchema = z.strictObject({
  profile: z.enum(PROFILES),
  cluster: z.strictObject({
    name: z.string(),
    region: z.string(),
    version: z.string(),
    availabilityZones: z.array(z.string()).min(2),
    vpcCidr: z.cidrv4({error: 'expected an IPv4 CIDR such as 10.0.0.0/16'}),
    publicEndpoint: z.boolean(),
  }),
  nodePools: z.strictObject({
    api: Pool,
    worker: Pool.omit({instanceType: true}).extend({instanceTypes: z.array(z.string()).min(1), onDemandBase: count, spotPercentAboveBase: z.number().int().min(0).max(100)}),
    data: Pool.extend({volumeIOPS: z.number().int().min(100)}),
  }),
  tags: z.record(z.string(), z.string()),
  helm: z.strictObject({release: z.string(), namespace: z.string(), timeout: z.string(), values: z.record(z.string(), z.unknown())}),
  eksctlSchema: z.string().optional(),
}).superRefine((p, ctx) => {
  const at = (path: PropertyKey[], message: string) => ctx.addIssue({code: 'custom', path, message})
  for (const [i, az] of p.cluster.availabilityZones.entries()) {
    if (!new RegExp(`^${p.cluster.region}[a-z]$`).test(az)) at(['cluster', 'availabilityZones', i], `${az} is not an availability zone of ${p.cluster.region}`)
  }
  const prefix = Number(p.cluster.vpcCidr.split('/')[1])
  if (prefix > 20) at(['cluster', 'vpcCidr'], `/${prefix} is too small for an EKS VPC with subnets in ${p.cluster.availabilityZones.length} zones: use /16../20`)
  for (const name of ['api', 'worker', 'data'] as const) {
    const pool = p.nodePools[name]
    if (pool.minSize > pool.maxSize) at(['nodePools', name, 'minSize'], `minSize ${pool.minSize} is above maxSize ${pool.maxSize}`)
    if (pool.desiredCapacity < pool.minSize || pool.desiredCapacity > pool.maxSize) at(['nodePools', name, 'desiredCapacity'], `desiredCapacity ${pool.desiredCapacity} is outside minSize..maxSize (${pool.minSize}..${pool.maxSize})`)
  }
  for (const name of ['api', 'data'] as const) {
    const problem = instanceTypeProblem(p.nodePools[name].instanceType)
    if (problem) at(['nodePools', name, 'instanceType'], problem)
  }
  for (const [i, t] of p.nodePools.worker.instanceTypes.entries()) {
    const problem = instanceTypeProblem(t)
    if (problem) at(['nodePools', 'worker', 'instanceTypes', i], problem)
  }
  if (p.nodePools.worker.onDemandBase > p.nodePools.worker.maxSize) at(['nodePools', 'worker', 'onDemandBase'], `onDemandBase ${p.nodePools.worker.onDemandBase} is above maxSize ${p.nodePools.worker.maxSize}`)
})
export type ProvisionInputs = z.infer<typeof ResolvedProvisionSchema>

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Objects merge key by key; anything else (lists included) is replaced. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isObject(base) || !isObject(over)) return (over === undefined ? base : over) as T
  const out: Record<string, unknown> = {...base}
  for (const [k, v] of Object.entries(over)) out[k] = v === undefined ? out[k] : deepMerge(out[k], v)
  return out as T
}


/** The default profile: the environment's name when it is one, else lab. */
export const defaultProfile = (envName: string): Profile => (PROFILES as readonly string[]).includes(envName) ? envName as Profile : 'lab'

export async function resolveProvision(r: ResolvedEnvironment): Promise<ProvisionInputs> {
  const own = r.env.provision
  const profile = own?.profile ?? defaultProfile(r.name)
  const profiles = await readYamlTemplate<Record<Profile, Record<string, unknown>>>('eksctl', 'profiles.yaml')
  const base = profiles[profile]!
  const merged = deepMerge(base, {
    profile,
    cluster: {name: `llm-vault-${r.name}`, ...own?.cluster},
    nodePools: own?.nodePools,
    tags: own?.tags,
    helm: {
      release: own?.helm.release ?? 'llm-vault',
      // The release records live in their own namespace; the chart creates and owns the vault's three.
      namespace: own?.helm.namespace ?? 'llm-vault-system',
      timeout: own?.helm.timeout ?? '10m',
      values: own?.helm.values ?? {},
    },
    eksctlSchema: own?.eksctlSchema,
  })
  // The cluster name is given or derived from the environment; keep it EKS-valid either way.
  const parsed = ResolvedProvisionSchema.safeParse(merged)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `environments.${r.name}.provision.${formatIssuePath(i.path)}: ${i.message}`)
    throw usageError('PROVISION_CONFIG', `provision settings of environment "${r.name}" are not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
      [`Fix them in ${r.loaded.source.path}, then run \`vaultctl provision validate --env ${r.name}\`.`], {problems})
  }
  return parsed.data
}

/** Worker capacity split into an On-Demand group (the base plus its share above it) and a Spot group. */
export function workerSplit(w: ProvisionInputs['nodePools']['worker']) {
  const above = Math.max(0, w.maxSize - w.onDemandBase)
  const onDemandAboveMax = Math.ceil(above * (100 - w.spotPercentAboveBase) / 100)
  const desiredAbove = Math.max(0, w.desiredCapacity - w.onDemandBase)
  const spotDesired = Math.round(desiredAbove * w.spotPercentAboveBase / 100)
  const onDemandMax = w.onDemandBase + onDemandAboveMax
  return {
    onDemandMin: Math.min(w.minSize, w.onDemandBase),
    onDemandMax,
    onDemandDesired: w.desiredCapacity - spotDesired,
    spotMin: Math.max(0, w.minSize - w.onDemandBase),
    spotMax: w.maxSize - onDemandMax,
    spotDesired,
  }
}

/** `--values FILE`: overlays (e.g. `report rightsizing --values-out`) merged over the environment's values, in order. */
export async function withValuesFiles(inputs: ProvisionInputs, files: string[] = []): Promise<ProvisionInputs> {
  if (!files.length) return inputs
  const {parse} = await import('yaml')
  const {readText} = await import('../clients/files.js')
  let values = inputs.helm.values
  for (const f of files) {
    const text = readText(f)
    if (text === undefined) throw usageError('VALUES_FILE', `--values ${f}: no such file`, ['Give the path of a YAML values overlay, e.g. the one `vaultctl report rightsizing --values-out FILE` wrote.'])
    let doc: unknown
    try {
      doc = parse(text) ?? {}
    } catch (error) {
      throw usageError('VALUES_FILE', `--values ${f}: not valid YAML: ${(error as Error).message}`)
    }
    if (!isObject(doc)) throw usageError('VALUES_FILE', `--values ${f}: expected a YAML mapping of chart values`)
    values = deepMerge(values, doc)
  }
  return {...inputs, helm: {...inputs.helm, values}}
}
