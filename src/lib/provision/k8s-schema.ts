// Offline validation of rendered manifests against the Kubernetes API's own OpenAPI (v2) schema,
// taken from the k8s.io/kubernetes Go module (api/openapi-spec/swagger.json) by
// `vaultctl lab install --tools k8s-schema`. Unknown fields are errors (the API server would
// drop them, or reject them under strict field validation). Kinds the schema does not know (CRDs:
// ServiceMonitor, ExternalSecret, ...) are reported as not validated, never as valid.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {toolsCacheDir} from '../paths.js'
import type {Problem} from './clusterconfig-schema.js'
import {pointerToPath, strictify} from './json-schema.js'

export const K8S_SCHEMA_VERSION = 'v1.34.2'
export const K8S_MODULE = `k8s.io/kubernetes@${K8S_SCHEMA_VERSION}`
export const k8sSchemaFile = () => process.env.VAULTCTL_K8S_SCHEMA ?? toolsCacheDir('kubernetes', K8S_SCHEMA_VERSION, 'swagger.json')

type Json = Record<string, unknown>
type Gvk = {group: string; version: string; kind: string}

export type ManifestResult = {apiVersion: string; kind: string; name: string; namespace?: string; status: 'valid' | 'invalid' | 'no-schema'; problems: Problem[]}

/** Swagger 2 types that YAML writes more loosely than the schema says. */
function loosen(defs: Json): Json {
  const out = {...defs}
  out['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = {anyOf: [{type: 'string'}, {type: 'integer'}]}
  out['io.k8s.apimachinery.pkg.api.resource.Quantity'] = {anyOf: [{type: 'string'}, {type: 'number'}]}
  return out
}

export type K8sValidator = {version: string; validate(doc: Json): ManifestResult}

export async function k8sValidator(file = k8sSchemaFile()): Promise<K8sValidator | undefined> {
  if (!existsSync(file)) return undefined
  const swagger = JSON.parse(readFileSync(file, 'utf8')) as {definitions: Json; info?: {version?: string}}
  const defs = strictify(loosen(swagger.definitions)) as Json
  const byGvk = new Map<string, string>()
  for (const [name, def] of Object.entries(swagger.definitions)) {
    for (const g of ((def as Json)['x-kubernetes-group-version-kind'] as Gvk[] | undefined) ?? []) {
      const apiVersion = g.group ? `${g.group}/${g.version}` : g.version
      // The first definition listing a GVK is the type itself (others are e.g. DeleteOptions).
      if (!byGvk.has(`${apiVersion}/${g.kind}`) && name.endsWith(`.${g.kind}`)) byGvk.set(`${apiVersion}/${g.kind}`, name)
    }
  }
  const {Ajv} = await import('ajv')
  const ajv = new Ajv({strict: false, allErrors: true, validateFormats: false})
  ajv.addSchema({definitions: defs}, 'k8s')
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>()
  return {
    version: K8S_SCHEMA_VERSION,
    validate(doc) {
      const apiVersion = String(doc.apiVersion ?? '')
      const kind = String(doc.kind ?? '')
      const meta = (doc.metadata ?? {}) as {name?: string; namespace?: string}
      const base = {apiVersion, kind, name: meta.name ?? '(no name)', namespace: meta.namespace}
      const def = byGvk.get(`${apiVersion}/${kind}`)
      if (!def) return {...base, status: 'no-schema', problems: []}
      let v = compiled.get(def)
      if (!v) {
        v = ajv.compile({$ref: `k8s#/definitions/${def}`})
        compiled.set(def, v)
      }
      if (v(doc)) return {...base, status: 'valid', problems: []}
      const problems = (v.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? (e.params as {additionalProperty: string}).additionalProperty : undefined
        return {path: pointerToPath(e.instancePath, extra), message: extra !== undefined ? 'unknown field (not in the Kubernetes API schema)' : e.message ?? e.keyword}
      }).filter((p) => !/must match a schema in anyOf/.test(p.message))
      const unique = [...new Map(problems.map((p) => [`${p.path}\0${p.message}`, p])).values()]
      return {...base, status: 'invalid', problems: unique}
    },
  }
}

export const k8sSchemaInstallDir = () => join(toolsCacheDir('kubernetes'), K8S_SCHEMA_VERSION)
