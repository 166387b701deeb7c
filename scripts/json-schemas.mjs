// The --json result of every command has a JSON Schema generated from its TypeScript type
// (`async run(): Promise<XResult>`), checked in under schemas/ so that a change to a result is
// seen in review (as the Salesforce CLI does). `node scripts/json-schemas.mjs` writes them;
// `--check` exits 1 naming every schema that no longer matches its type.
import {readdirSync, readFileSync, statSync, writeFileSync, mkdirSync} from 'node:fs'
import {join, relative} from 'node:path'
import {createGenerator} from 'ts-json-schema-generator'

const root = new URL('..', import.meta.url).pathname
const commandsDir = join(root, 'src/commands')
const files = (dir) => readdirSync(dir).flatMap((f) => statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : [])

/** [command id, result type] for each command whose run() returns a named, exported type. */
export function resultTypes() {
  const out = []
  const all = files(commandsDir).sort()
  const texts = all.map((f) => readFileSync(f, 'utf8'))
  for (const [i, file] of all.entries()) {
    const text = texts[i]
    const m = /async run\(\): Promise<(\w+)>/.exec(text)
    if (!m || m[1] === 'void') continue
    // declared here, or in another command that this one spells differently (restore --pitr)
    if (!texts.some((t) => new RegExp(`export type ${m[1]}\\b`).test(t))) throw new Error(`${relative(root, file)}: run() returns ${m[1]}, which the file does not export: add \`export type ${m[1]} = ...\``)
    const id = relative(commandsDir, file).replace(/\.ts$/, '').replace(/\/index$/, '').split('/').join('-')
    out.push({id, type: m[1], file})
  }
  return out
}

/**
 * Results with a property whose type zod infers (the config): the rest of the type is generated
 * as usual, that property's schema comes from the zod schema itself (z.toJSONSchema), adjusted as
 * the command shows it.
 */
const COMPOSED = {
  ConfigShowResult: {base: 'ConfigShowEnvelope', property: 'environment', async schema() {
    const {z} = await import('zod')
    const {EnvironmentSchema} = await import(join(root, 'dist/lib/config/schema.js'))
    // config show prints every secret reference (…From) as a string saying where it points.
    const refsAsStrings = (node) => {
      if (Array.isArray(node)) return node.map(refsAsStrings)
      if (!node || typeof node !== 'object') return node
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'properties'
        ? Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, p.endsWith('From') ? {type: 'string'} : refsAsStrings(ps)]))
        : refsAsStrings(v)]))
    }
    const {$schema: _s, ...schema} = z.toJSONSchema(EnvironmentSchema, {io: 'output', unrepresentable: 'any'})
    return refsAsStrings(schema)
  }},
}

/** Schemas of every command's result; `failed` lists the types that have none. */
export async function generate() {
  const gen = createGenerator({path: join(commandsDir, '**/*.ts'), tsconfig: join(root, 'tsconfig.json'), skipTypeCheck: true, expose: 'export', topRef: true, jsDoc: 'basic', additionalProperties: false, sortProps: true})
  const schemas = []
  const failed = []
  for (const {id, type} of resultTypes()) {
    try {
      let schema
      const composed = COMPOSED[type]
      if (composed) {
        schema = gen.createSchema(composed.base)
        const def = schema.definitions[composed.base]
        def.properties = Object.fromEntries(Object.entries({...def.properties, [composed.property]: await composed.schema()}).sort(([a], [b]) => a.localeCompare(b)))
        def.required = [...new Set([...(def.required ?? []), composed.property])].sort()
        schema.definitions = {[type]: def}
        schema.$ref = `#/definitions/${type}`
      } else {
        schema = gen.createSchema(type)
      }
      schemas.push({id, type, schema: JSON.stringify({$comment: `vaultctl ${id.replaceAll('-', ' ')} --json: generated from ${type} by scripts/json-schemas.mjs`, ...schema}, null, 2) + '\n'})
    } catch (error) {
      failed.push({id, type, error: String(error.message ?? error).split('\n')[0]})
    }
  }
  return {schemas, failed}
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check')
  const dir = join(root, 'schemas')
  mkdirSync(dir, {recursive: true})
  const stale = []
  const {schemas, failed} = await generate()
  for (const f of failed) console.error(`no schema for ${f.id} (${f.type}): ${f.error}`)
  if (failed.length) process.exitCode = 1
  for (const {id, schema} of schemas) {
    const file = join(dir, `${id}.json`)
    let current = ''
    try {
      current = readFileSync(file, 'utf8')
    } catch {
      // new
    }
    if (current === schema) continue
    if (check) stale.push(`schemas/${id}.json`)
    else writeFileSync(file, schema)
  }
  if (stale.length) {
    console.error(`out of date (run node scripts/json-schemas.mjs and review the diff): ${stale.join(', ')}`)
    process.exit(1)
  }
}
