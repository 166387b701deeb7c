// `provision plan`: what apply would change, resource by resource and field by field, between a
// baseline (the live release and cluster, or the last rendered output) and what renders now.
import {FILES, parseManifests} from './render.js'

export type FieldChange = {path: string; from?: unknown; to?: unknown}
export type ResourceChange = {file: string; resource: string; action: 'create' | 'delete' | 'update'; fields: FieldChange[]}

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const named = (v: unknown): v is {name: string}[] => Array.isArray(v) && v.length > 0 && v.every((x) => isObj(x) && typeof x.name === 'string')

/** Field-level differences; lists of named objects (containers, node groups) are matched by name. */
export function diffValues(a: unknown, b: unknown, path = ''): FieldChange[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return []
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    return keys.flatMap((k) => diffValues(a[k], b[k], path ? `${path}.${k}` : k))
  }
  if (named(a) && named(b)) {
    const names = [...new Set([...a.map((x) => x.name), ...b.map((x) => x.name)])]
    return names.flatMap((n) => diffValues(a.find((x) => x.name === n), b.find((x) => x.name === n), `${path}[name=${n}]`))
  }
  return [{path: path || '(whole)', ...(a === undefined ? {} : {from: a}), ...(b === undefined ? {} : {to: b})}]
}

const idOf = (d: Json) => {
  const m = (d.metadata ?? {}) as {name?: string; namespace?: string}
  return `${d.kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name}`
}

export async function diffRendered(before: Record<string, string>, after: Record<string, string>): Promise<ResourceChange[]> {
  const {parse} = await import('yaml')
  const changes: ResourceChange[] = []
  const cc = diffValues(parse(before[FILES.clusterConfig] ?? '{}'), parse(after[FILES.clusterConfig] ?? '{}'))
  if (cc.length) changes.push({file: FILES.clusterConfig, resource: 'ClusterConfig', action: before[FILES.clusterConfig] ? 'update' : 'create', fields: cc})
  const index = async (text?: string) => new Map((await parseManifests(text ?? '')).map((d) => [idOf(d), d]))
  const [a, b] = [await index(before[FILES.manifests]), await index(after[FILES.manifests])]
  for (const id of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const [x, y] = [a.get(id), b.get(id)]
    if (!x) changes.push({file: FILES.manifests, resource: id, action: 'create', fields: []})
    else if (!y) changes.push({file: FILES.manifests, resource: id, action: 'delete', fields: []})
    else {
      // A pod template's config checksum changes with the ConfigMap: that is a rollout, and shown.
      const fields = diffValues(x, y)
      if (fields.length) changes.push({file: FILES.manifests, resource: id, action: 'update', fields})
    }
  }
  return changes
}

const show = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v))

export function formatChanges(changes: ResourceChange[]): string {
  if (!changes.length) return 'No changes: the rendered files match the baseline.'
  const sign = {create: '+', delete: '-', update: '~'} as const
  const lines: string[] = []
  for (const c of changes) {
    lines.push(`${sign[c.action]} ${c.resource}${c.action === 'update' ? '' : ` (${c.action})`}`)
    for (const f of c.fields) lines.push(`    ${f.path}: ${show(f.from)} -> ${show(f.to)}`)
  }
  const n = (a: ResourceChange['action']) => changes.filter((c) => c.action === a).length
  lines.push('', `Plan: ${n('create')} to create, ${n('update')} to change, ${n('delete')} to delete.`)
  return lines.join('\n')
}
