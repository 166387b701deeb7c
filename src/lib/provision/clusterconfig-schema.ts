// vaultctl's own strict schema of the ClusterConfig it renders: every key it writes, nothing else.
// eksctl silently ignores a mistyped key (desiredCapasity), so an unknown key here is an error
// that names its path.
import {z} from 'zod'
import {formatIssuePath} from '../config/load.js'

const Tags = z.record(z.string(), z.string())
const NodeGroup = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  instanceType: z.string().optional(),
  instanceTypes: z.array(z.string()).min(1).optional(),
  spot: z.boolean().optional(),
  minSize: z.number().int().min(0),
  maxSize: z.number().int().min(1),
  desiredCapacity: z.number().int().min(0),
  volumeSize: z.number().int().min(8),
  volumeType: z.enum(['gp2', 'gp3', 'io1', 'io2', 'sc1', 'st1']),
  volumeIOPS: z.number().int().optional(),
  volumeThroughput: z.number().int().optional(),
  volumeEncrypted: z.boolean(),
  privateNetworking: z.boolean(),
  availabilityZones: z.array(z.string()).min(1),
  labels: z.record(z.string(), z.string()),
  taints: z.array(z.strictObject({key: z.string(), value: z.string(), effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])})).optional(),
  tags: Tags,
}).superRefine((g, ctx) => {
  if (Boolean(g.instanceType) === Boolean(g.instanceTypes)) ctx.addIssue({code: 'custom', path: ['instanceType'], message: 'give exactly one of instanceType and instanceTypes'})
  if (g.minSize > g.maxSize || g.desiredCapacity < g.minSize || g.desiredCapacity > g.maxSize) {
    ctx.addIssue({code: 'custom', path: ['desiredCapacity'], message: `need minSize <= desiredCapacity <= maxSize (${g.minSize} <= ${g.desiredCapacity} <= ${g.maxSize})`})
  }
  if (g.volumeType.startsWith('io') && !g.volumeIOPS) ctx.addIssue({code: 'custom', path: ['volumeIOPS'], message: `${g.volumeType} volumes need volumeIOPS`})
})

export const ClusterConfigSchema = z.strictObject({
  apiVersion: z.literal('eksctl.io/v1alpha5'),
  kind: z.literal('ClusterConfig'),
  metadata: z.strictObject({name: z.string().regex(/^[a-zA-Z][-a-zA-Z0-9]{0,99}$/), region: z.string(), version: z.string().regex(/^1\.\d+$/), tags: Tags}),
  availabilityZones: z.array(z.string()).min(2),
  vpc: z.strictObject({
    cidr: z.cidrv4(),
    clusterEndpoints: z.strictObject({privateAccess: z.boolean(), publicAccess: z.boolean()}),
    nat: z.strictObject({gateway: z.enum(['Disable', 'Single', 'HighlyAvailable'])}),
  }),
  iam: z.strictObject({withOIDC: z.boolean()}),
  managedNodeGroups: z.array(NodeGroup).min(1),
  cloudWatch: z.strictObject({clusterLogging: z.strictObject({
    enableTypes: z.array(z.enum(['api', 'audit', 'authenticator', 'controllerManager', 'scheduler', 'all', '*'])),
    logRetentionInDays: z.number().int(),
  })}),
})

export type Problem = {path: string; message: string}

export function checkClusterConfig(doc: unknown): Problem[] {
  const r = ClusterConfigSchema.safeParse(doc)
  if (r.success) return []
  return r.error.issues.map((i) => ({
    path: formatIssuePath(i.path),
    message: i.code === 'unrecognized_keys' ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (eksctl would ignore ${i.keys.length > 1 ? 'them' : 'it'} silently)` : i.message,
  })).flatMap((p) => {
    // Name each unknown key with its own full path.
    const m = /^unknown keys? (.*) \(eksctl/.exec(p.message)
    if (!m) return [p]
    return [...m[1]!.matchAll(/"([^"]+)"/g)].map((k) => ({path: p.path === '(top level)' ? k[1]! : `${p.path}.${k[1]}`, message: 'unknown key (eksctl would ignore it silently)'}))
  })
}
