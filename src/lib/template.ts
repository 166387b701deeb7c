// vaultctl's rendered files: YAML templates under templates/ in which a scalar written as
// ${a.b.c} is replaced by that field of the data (types kept: numbers stay numbers, lists lists).
import {join} from 'node:path'
import {readRequired} from './clients/files.js'
import {failure} from './errors.js'
import {templatesDir} from './paths.js'

function lookup(obj: unknown, path: string): unknown {
  let cur = obj
  for (const k of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined
  return cur
}

/** Replace every scalar "${a.b.c}" with that value of `data` (typed); a missing one is an error. */
export function substitute(node: unknown, data: unknown, where = ''): unknown {
  if (typeof node === 'string') {
    const m = /^\$\{([A-Za-z0-9_.]+)\}$/.exec(node)
    if (!m) return node
    const v = lookup(data, m[1]!)
    if (v === undefined) throw failure('TEMPLATE_FIELD', `template field \${${m[1]}} at ${where || '(top)'} has no value`)
    return v
  }
  if (Array.isArray(node)) return node.map((x, i) => substitute(x, data, `${where}[${i}]`))
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, data, where ? `${where}.${k}` : k)]))
  }
  return node
}

export function readYamlTemplate<T>(...parts: string[]): Promise<T> {
  return import('yaml').then(({parse}) => parse(readRequired(join(templatesDir(), ...parts))) as T)
}

/** Every document of a multi-document YAML template. */
export function readYamlTemplates<T>(...parts: string[]): Promise<T[]> {
  return import('yaml').then(({parseAllDocuments}) => parseAllDocuments(readRequired(join(templatesDir(), ...parts))).map((d) => d.toJS() as T))
}
