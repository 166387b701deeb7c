import {stringify} from 'yaml'
import {BaseCommand} from '../../base-command.js'
import {describeRef, secretAvailable} from '../../lib/config/secrets.js'
import type {Environment} from '../../lib/config/schema.js'

/** Secret references are shown as where they point and whether they resolve; never the value. */
function redactRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactRefs)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => {
      if (k.endsWith('From') && v && typeof v === 'object') {
        const ref = v as {env: string} | {file: string}
        return [k, `${describeRef(ref)} (${secretAvailable(ref) ? 'set' : 'NOT SET'}; value hidden)`]
      }
      return [k, redactRefs(v)]
    }))
  }
  return value
}

export type ConfigShowEnvelope = {file: string; env: string; origin: string}
/** `environment` is the config schema's output (its JSON Schema comes from zod), secret references shown as strings. */
export type ConfigShowResult = ConfigShowEnvelope & {environment: Environment}

export default class ConfigShow extends BaseCommand<typeof ConfigShow> {
  static override summary = 'Show the resolved environment with defaults filled in (secrets never shown)'
  static override examples = ['<%= config.bin %> config show', '<%= config.bin %> config show --env prod --json']

  async run(): Promise<ConfigShowResult> {
    const {name, env, loaded} = this.environment()
    const shown = redactRefs(env) as Environment
    this.out(`# environment ${name} from ${loaded.origins[name] ?? loaded.source.path}\n${stringify(shown)}`)
    return {file: loaded.source.path, env: name, origin: loaded.origins[name] ?? loaded.source.path, environment: shown}
  }
}
