// Offline validation of rendered manifests against the Kubernetes API's own OpenAPI (v2) schema,
// taken from the k8s.io/kubernetes Go module (api/openapi-spec/swagger.json) by
// `vaultctl lab install --tools k8s-schema`. Unknown fields are errors (the API server would
// drop them, or reject them under strict field validation). Kinds the schema does not know (CRDs:
// ServiceMonitor, ...) are validated against their CustomResourceDefinitions when those were
// installed (from the operators' Go modules); a kind with no schema is reported as not validated,
// never as valid.
import {z} from 'zod'
import {listTree, pathExists, readJsonFile, readRequired, writeText} from '../clients/files.js'
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

export type K8sValidator = {version: string; crds: number; validate(doc: Json): ManifestResult}

function jsRegex(p: string): boolean {
  try {
    new RegExp(p, 'u')
    return !p.includes('(?')
  } catch {
    return false
  }
}

/** A CRD's openAPIV3Schema as plain JSON Schema: int-or-string spelt out. */
function crdSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(crdSchema)
  if (!node || typeof node !== 'object') return node
  const n = node as Json
  if (n['x-kubernetes-int-or-string'] === true) return {anyOf: [{type: 'string'}, {type: 'integer'}]}
  return Object.fromEntries(Object.entries(n).flatMap(([k, v]) => {
    if (k === 'properties') return [[k, Object.fromEntries(Object.entries(v as Json).map(([p, x]) => [p, crdSchema(x)]))]]
    // CRD patterns are Go (RE2) regular expressions: keep those JavaScript reads the same way.
    if (k === 'pattern' && typeof v === 'string' && !jsRegex(v)) return []
    return [[k, crdSchema(v)]]
  }))
}

/** apiVersion/kind -> schema of every CRD version under dir (the files `lab install --tools k8s-schema` copies). */
async function loadCrds(dir: string): Promise<Map<string, unknown>> {
  if (!pathExists(dir)) return new Map()
  const tree = listTree(dir, /\.yaml$/)
  const files = tree.files
  // Parsing the CRD YAML (Istio's alone is megabytes) costs seconds: keep a JSON index beside it.
  const stamp = `v2|${tree.stamp}`
  const indexFile = join(dir, '.vaultctl-index.json')
  const index = readJsonFile(indexFile, z.object({stamp: z.string(), schemas: z.record(z.string(), z.unknown())}))
  if (index?.stamp === stamp) return new Map(Object.entries(index.schemas))
  const {parseAllDocuments} = await import('yaml')
  const schemas: Record<string, unknown> = {}
  for (const f of files) {
    for (const d of parseAllDocuments(readRequired(join(dir, f)))) {
      const crd = d.toJS() as {kind?: string; spec?: {group: string; names: {kind: string}; versions: {name: string; schema?: {openAPIV3Schema?: unknown}}[]}}
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue
      for (const v of crd.spec.versions) {
        if (!v.schema?.openAPIV3Schema) continue
        // The API server adds these to every object; some CRDs (Istio's) leave them out.
        const root = crdSchema(v.schema.openAPIV3Schema) as {properties?: Json}
        root.properties = {apiVersion: {type: 'string'}, kind: {type: 'string'}, metadata: {type: 'object'}, ...root.properties}
        schemas[`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`] = strictify(root)
      }
    }
  }
  try {
    writeText(indexFile, JSON.stringify({stamp, schemas}))
  } catch {
    // a read-only cache still works, only slower
  }
  return new Map(Object.entries(schemas))
}

export async function k8sValidator(file = k8sSchemaFile(), crdDir = crdSchemaDir()): Promise<K8sValidator | undefined> {
  const swagger = readJsonFile(file, z.looseObject({definitions: z.record(z.string(), z.unknown()), info: z.looseObject({version: z.string().optional()}).optional()})) as {definitions: Json; info?: {version?: string}} | undefined
  if (!swagger) return undefined
  const crds = await loadCrds(crdDir)
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
  const compileFor = (apiVersion: string, kind: string) => {
    const key = `${apiVersion}/${kind}`
    let v = compiled.get(key)
    if (v) return v
    const def = byGvk.get(key)
    const crd = crds.get(key)
    if (!def && !crd) return undefined
    v = def ? ajv.compile({$ref: `k8s#/definitions/${def}`}) : ajv.compile(crd as object)
    compiled.set(key, v)
    return v
  }
  return {
    version: K8S_SCHEMA_VERSION,
    crds: crds.size,
    validate(doc) {
      const apiVersion = String(doc.apiVersion ?? '')
      const kind = String(doc.kind ?? '')
      const meta = (doc.metadata ?? {}) as {name?: string; namespace?: string}
      const base = {apiVersion, kind, name: meta.name ?? '(no name)', namespace: meta.namespace}
      const v = compileFor(apiVersion, kind)
      if (!v) return {...base, status: 'no-schema', problems: []}
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
export const crdSchemaDir = () => process.env.VAULTCTL_CRD_SCHEMAS ?? toolsCacheDir('kubernetes', 'crds')

/** Where the schemas come from: the Kubernetes API's own, and the CRDs of the kinds the chart uses. */
export const schemaSources = () => [
  {name: 'kubernetes', module: K8S_MODULE, files: ['api/openapi-spec/swagger.json'], dest: k8sSchemaInstallDir()},
  {name: 'prometheus-operator', module: 'github.com/prometheus-operator/prometheus-operator@v0.85.0', dest: join(crdSchemaDir(), 'prometheus-operator'),
    files: ['example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml', 'example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml']},
  {name: 'keda', module: 'github.com/kedacore/keda/v2@v2.21.0', dest: join(crdSchemaDir(), 'keda'), files: ['config/crd/bases/keda.sh_scaledobjects.yaml']},
  {name: 'external-secrets', module: 'github.com/external-secrets/external-secrets@v0.16.2', dest: join(crdSchemaDir(), 'external-secrets'),
    files: ['config/crds/bases/external-secrets.io_externalsecrets.yaml']},
  {name: 'istio', module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad', dest: join(crdSchemaDir(), 'istio'), files: ['manifests/charts/base/files/crd-all.gen.yaml']},
]
