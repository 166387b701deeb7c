import {BaseCommand} from '../../base-command.js'

export type ConfigValidateResult = {file: string; source: string; valid: true; environments: string[]}

export default class ConfigValidate extends BaseCommand<typeof ConfigValidate> {
  static override summary = 'Check the config file; every problem is named with its exact path (exit 2 when invalid)'
  static override examples = ['<%= config.bin %> config validate', '<%= config.bin %> config validate --config ./vaultctl.yaml --json']

  async run(): Promise<ConfigValidateResult> {
    const loaded = this.config_()
    const environments = Object.keys(loaded.config.environments)
    this.out(`${loaded.source.path}: valid (${environments.length} environment${environments.length === 1 ? '' : 's'}: ${environments.join(', ') || 'none'})`)
    return {file: loaded.source.path, source: loaded.source.how, valid: true, environments}
  }
}
