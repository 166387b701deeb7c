// Parses and validates vaultctl.yaml text (yaml + zod: loaded only when a config is not in the
// cache of checked configs, see load.ts). Every problem is reported with the exact path of the
// offending key (file:line where the YAML parser knows it) and what was expected.
import {parseDocument, isMap, isNode, type Document} from 'yaml'
import type {z} from 'zod'
import {usageError} from '../errors.js'
import {formatIssuePath} from './load.js'
import {ConfigSchema, type Config} from './schema.js'

function lineOf(doc: Document, path: ReadonlyArray<PropertyKey>, text: string): number | undefined {
  // Walk down as far as the path exists; report the deepest node we found.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true)
    if (isNode(node) && node.range) return text.slice(0, node.range[0]).split('\n').length
    if (n > 0 && isMap(doc.getIn(path.slice(0, n - 1) as unknown[], true))) {
      const parent = doc.getIn(path.slice(0, n - 1) as unknown[], true)
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isNode(it.key) && (it.key as {value?: unknown}).value === path[n - 1])
        if (pair && isNode(pair.key) && pair.key.range) return text.slice(0, pair.key.range[0]).split('\n').length
      }
    }
  }
  return undefined
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see the README's config reference)`
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `missing: ${issue.message.replace(/, received undefined$/, '')}`
  return issue.message
}

/** Edit distance, for "did you mean": small words only. */
function distance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
  }
  return d[a.length]![b.length]!
}

/**
 * A union chosen by a key (postgres.kind) fails as a whole when that key is missing, and zod
 * then says nothing of the object's other keys: name the missing key, and a misspelt one.
 */
function discriminatorProblems(issue: z.core.$ZodIssue, data: unknown): {path: PropertyKey[]; message: string}[] | undefined {
  const i = issue as z.core.$ZodIssue & {discriminator?: string; options?: unknown[]}
  if (i.code !== 'invalid_union' || !i.discriminator) return undefined
  const parent = i.path.slice(0, -1)
  let obj: unknown = data
  for (const k of parent) obj = (obj as Record<PropertyKey, unknown> | undefined)?.[k as string]
  if (!obj || typeof obj !== 'object' || i.discriminator in obj) return undefined
  const choices = (i.options ?? []).map((o) => JSON.stringify(o)).join(' or ')
  const near = Object.keys(obj).filter((k) => k !== i.discriminator && distance(k.toLowerCase(), i.discriminator!.toLowerCase()) <= 2)
  return [
    ...near.map((k) => ({path: [...parent, k], message: `unknown key "${k}": did you mean "${i.discriminator}"?`})),
    {path: i.path, message: `missing: "${i.discriminator}" (${choices}) says which kind of ${String(parent.at(-1) ?? 'section')} this is`},
  ]
}

/** Parse and validate config text. Throws a usage error (exit 2) that lists every problem with its path. */
export function parseConfig(text: string, file: string): Config {
  const doc = parseDocument(text, {prettyErrors: true})
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    throw usageError('CONFIG_YAML', `${file}: not valid YAML: ${e.message}`, ['Fix the YAML syntax at the line shown.'])
  }
  const result = ConfigSchema.safeParse(doc.toJS() ?? {})
  if (result.success) return result.data
  const data = doc.toJS() as unknown
  const problems = result.error.issues.flatMap((issue) => {
    const discriminator = discriminatorProblems(issue, data)
    if (discriminator) return discriminator.map((p) => ({path: formatIssuePath(p.path), line: lineOf(doc, p.path, text), message: p.message}))
    // An unknown key's path is its parent; point at the key itself.
    const path = issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0]!] : issue.path
    const line = lineOf(doc, path, text)
    return [{path: formatIssuePath(path), line, message: describeIssue(issue)}]
  })
  const lines = problems.map((p) => `  ${p.path}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`)
  throw usageError('CONFIG_INVALID', `${file} is not a valid vaultctl config:\n${lines.join('\n')}`,
    ['Fix the keys listed above, then run `vaultctl config validate`.'], {file, problems})
}

