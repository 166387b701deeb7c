import {BaseCommand} from '../../base-command.js'
import {table} from '../../lib/table.js'

export type EnvListResult = {file: string; default: string; environments: {name: string; protected: boolean; default: boolean; origin: string; components: string[]}[]}

export default class EnvList extends BaseCommand<typeof EnvList> {
  static override summary = 'List the configured environments (the lab\'s included once `lab up` has run)'

  async run(): Promise<EnvListResult> {
    const loaded = this.config_()
    const def = this.flags.env ?? process.env.VAULTCTL_ENV ?? loaded.config.defaultEnvironment ?? 'lab'
    const environments = Object.entries(loaded.config.environments).map(([name, e]) => ({
      name, protected: e.protected, default: name === def, origin: loaded.origins[name] ?? loaded.source.path,
      components: (['kubernetes', 'postgres', 'redis', 's3', 'velero', 'prometheus'] as const).filter((c) => e[c] !== undefined),
    }))
    if (environments.length === 0) this.out('No environments. Run `vaultctl lab up` for the local lab, or write a vaultctl.yaml (see README).')
    else this.out(table(['NAME', 'DEFAULT', 'PROTECTED', 'COMPONENTS', 'FROM'], environments.map((e) => [e.name, e.default ? '*' : '', e.protected ? 'yes' : 'no', e.components.join(','), e.origin])))
    return {file: loaded.source.path, default: def, environments}
  }
}
