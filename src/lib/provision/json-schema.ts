// Validation against upstream JSON schemas (eksctl's ClusterConfig schema, Kubernetes OpenAPI),
// made strict: a property the schema does not name is an error, because the tools that read
// these files ignore unknown keys silently.
import type {Problem} from './clusterconfig-schema.js'

type Json = Record<string, unknown>

/** A copy of the schema where every object that lists its properties rejects others. */
export function strictify(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictify)
  if (!node || typeof node !== 'object') return node
  const out: Json = {}
  for (const [k, v] of Object.entries(node as Json)) {
    // "properties" maps names to schemas: keep the names, strictify the schemas.
    out[k] = k === 'properties' || k === 'definitions' || k === '$defs' || k === 'schemas'
      ? Object.fromEntries(Object.entries(v as Json).map(([name, s]) => [name, strictify(s)]))
      : strictify(v)
  }
  // Kubernetes structural schemas mark where anything goes (x-kubernetes-preserve-unknown-fields).
  if (out.properties && typeof out.properties === 'object' && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false
  return out
}

/** "/managedNodeGroups/1" + "desiredCapasity" -> "managedNodeGroups[1].desiredCapasity". */
export function pointerToPath(pointer: string, key?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  if (key !== undefined) parts.push(key)
  const path = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`)).join('')
  return path || '(top level)'
}

export type Validator = (doc: unknown) => Problem[]

export async function jsonSchemaValidator(schema: unknown, opts: {strict?: boolean} = {}): Promise<Validator> {
  const {Ajv} = await import('ajv')
  const ajv = new Ajv({strict: false, allErrors: true, validateFormats: false})
  const validate = ajv.compile((opts.strict ?? true) ? strictify(schema) as object : schema as object)
  return (doc) => {
    if (validate(doc)) return []
    const seen = new Set<string>()
    const problems: Problem[] = []
    for (const e of validate.errors ?? []) {
      const extra = e.keyword === 'additionalProperties' ? (e.params as {additionalProperty: string}).additionalProperty : undefined
      const p = {path: pointerToPath(e.instancePath, extra), message: extra !== undefined ? 'unknown key (not in the schema)' : e.message ?? e.keyword}
      const id = `${p.path}\0${p.message}`
      if (!seen.has(id)) {
        seen.add(id)
        problems.push(p)
      }
    }
    return problems
  }
}
