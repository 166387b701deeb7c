import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {defaultOutDir} from '../../lib/provision/context.js'
import {resolveProvision, withValuesFiles} from '../../lib/provision/inputs.js'
import {render, writeFilesOp} from '../../lib/provision/render.js'
import {table} from '../../lib/table.js'

export type RenderedFile = {name: string; path: string; bytes: number; sha256: string; change: 'new' | 'changed' | 'unchanged'}
export type ProvisionRenderResult = {env: string; profile: string; outDir: string; dryRun: boolean; files: RenderedFile[]}

export default class ProvisionRender extends BaseCommand<typeof ProvisionRender> {
  static override summary = 'Render the eksctl ClusterConfig, the Helm values and the manifests (helm template) of an environment'
  static override description = 'Deterministic: the same config renders byte-identical files. With --dry-run, says which files would change and writes nothing.'
  static override examples = ['<%= config.bin %> provision render --env production --out rendered/production', '<%= config.bin %> provision render --dry-run']
  static override flags = {
    values: Flags.string({description: 'a values overlay merged over the environment\'s (repeatable; e.g. from report rightsizing --values-out)', multiple: true}),
    out: Flags.string({description: 'directory to write into (default: ./rendered/<env>)'}),
  }

  async run(): Promise<ProvisionRenderResult> {
    const r = this.environment()
    const inputs = await withValuesFiles(await resolveProvision(r), this.flags.values)
    const rendered = await render(r.name, inputs)
    const outDir = this.flags.out ? resolve(this.flags.out) : defaultOutDir(r.name)
    const files: RenderedFile[] = Object.entries(rendered.files).sort(([a], [b]) => a.localeCompare(b)).map(([name, content]) => {
      const path = join(outDir, name)
      const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined
      return {name, path, bytes: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'),
        change: before === undefined ? 'new' : before === content ? 'unchanged' : 'changed'}
    })
    const count = (c: RenderedFile['change']) => files.filter((f) => f.change === c).length
    const result = await this.runPlan({
      command: 'provision render', env: r.name, protected: false,
      summary: `render ${r.name} (profile ${inputs.profile}) into ${outDir}: ${count('new')} new, ${count('changed')} changed, ${count('unchanged')} unchanged`,
      observed: Object.fromEntries(files.map((f) => [f.name, f.change])), preconditions: [],
      steps: [{id: 'write-files', title: `write ${files.map((f) => f.name).join(', ')} into ${outDir}`, risk: 'write', op: writeFilesOp(rendered, r.name, outDir)}],
    })
    const dryRun = result.dryRun
    this.out(table(['FILE', 'BYTES', 'CHANGE', 'SHA256'], files.map((f) => [f.path, String(f.bytes), dryRun && f.change !== 'unchanged' ? `${f.change} (not written)` : f.change, f.sha256.slice(0, 16)])))
    this.out(`${dryRun ? 'Dry run: nothing written' : `Rendered ${r.name} (profile ${inputs.profile}) into ${outDir}`}. Next: vaultctl provision validate --env ${r.name}${this.flags.out ? ` --dir ${outDir}` : ''}`)
    return {env: r.name, profile: inputs.profile, outDir, dryRun, files}
  }
}
