import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {eksctlSchemaFrom, renderedFiles} from '../../lib/provision/context.js'
import type {ManifestResult} from '../../lib/provision/k8s-schema.js'
import {validateFiles, type ValidateCheck} from '../../lib/provision/validate.js'
import {table} from '../../lib/table.js'
import {clusterOf} from '../../lib/kube/cluster.js'

export type ProvisionValidateResult = {env: string; ok: boolean; source: string; checks: ValidateCheck[]; manifests: ManifestResult[]}

export default class ProvisionValidate extends BaseCommand<typeof ProvisionValidate> {
  static override summary = 'Validate the rendered ClusterConfig and manifests before anything touches a cloud'
  static override description = 'Checks: the ClusterConfig against vaultctl\'s strict schema and eksctl\'s JSON schema (unknown keys rejected), helm lint --strict, every manifest against the Kubernetes API schema (offline) and, when the environment names a cluster, a server-side dry-run of each against its API server, and rules (requests <= limits, PDB below replicas, HPA bounds, quota fit). Exit 1 when a check fails; skipped checks say why.'
  static override examples = ['<%= config.bin %> provision validate --env staging', '<%= config.bin %> provision validate --dir rendered/production --eksctl-schema eksctl-schema.json --json']
  static override flags = {
    dir: Flags.string({description: 'validate the rendered files in this directory instead of rendering now'}),
    'eksctl-schema': Flags.string({description: 'eksctl\'s ClusterConfig JSON schema (default: `eksctl utils schema` when eksctl is installed; also provision.eksctlSchema, $VAULTCTL_EKSCTL_SCHEMA)'}),
  }

  async run(): Promise<ProvisionValidateResult> {
    const r = this.environment()
    const {inputs, files, helmBin} = await renderedFiles(r, this.flags.dir)
    const {checks, manifests} = await validateFiles({files, kubeVersion: inputs.cluster.version, helmBin,
      eksctlSchemaFile: eksctlSchemaFrom(this.flags['eksctl-schema'], inputs), ...(clusterOf(r.env) ? {cluster: clusterOf(r.env)!} : {})})
    const ok = checks.every((c) => c.status !== 'failed')
    this.out(table(['CHECK', 'RESULT', 'DETAIL'], checks.map((c) => [c.id, c.status, c.detail])))
    const problems = checks.flatMap((c) => c.problems.map((p) => `  ${c.id}  ${p.file}: ${p.path}: ${p.message}`))
    const warnings = checks.flatMap((c) => (c.warnings ?? []).map((p) => `  ${c.id}  ${p.file}: ${p.path}: ${p.message}`))
    if (problems.length) this.out(`\nProblems:\n${problems.join('\n')}`)
    if (warnings.length) this.out(`\nWarnings:\n${warnings.join('\n')}`)
    this.out(ok ? `\n${r.name}: valid${checks.some((c) => c.status === 'skipped') ? ' (some checks skipped: see above)' : ''}` : `\n${r.name}: NOT valid`)
    if (!ok) process.exitCode = 1
    return {env: r.name, ok, source: this.flags.dir ?? 'rendered now', checks, manifests}
  }
}
