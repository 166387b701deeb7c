// What every provision command starts from: the environment's inputs, rendered now or read back
// from a directory of rendered files.
import {pathExists, readText} from '../clients/files.js'
import {join, resolve} from 'node:path'
import type {ResolvedEnvironment} from '../config/load.js'
import {usageError} from '../errors.js'
import {resolveProvision, type ProvisionInputs} from './inputs.js'
import {FILES, render, requireHelm, type Rendered} from './render.js'

export const defaultOutDir = (env: string) => resolve('rendered', env)

/** The rendered files: freshly rendered, or those in `dir` (e.g. to validate hand-edited output). */
export async function renderedFiles(r: ResolvedEnvironment, dir?: string): Promise<{inputs: ProvisionInputs; files: Record<string, string>; helmBin: string; rendered?: Rendered}> {
  const inputs = await resolveProvision(r)
  if (!dir) {
    const rendered = await render(r.name, inputs)
    return {inputs, files: rendered.files, helmBin: rendered.helmBin, rendered}
  }
  const files = readRenderedDir(dir)
  if (!files) throw usageError('NOT_RENDERED', `${dir} holds no rendered files (${FILES.clusterConfig}, ${FILES.values}, ${FILES.manifests})`, [`Render first: vaultctl provision render --env ${r.name} --out ${dir}`])
  return {inputs, files, helmBin: (await requireHelm()).bin}
}

export function readRenderedDir(dir: string): Record<string, string> | undefined {
  const names = [FILES.clusterConfig, FILES.values, FILES.manifests]
  if (!names.every((n) => pathExists(join(dir, n)))) return undefined
  const files: Record<string, string> = {}
  for (const n of [...names, FILES.meta]) {
    const text = readText(join(dir, n))
    if (text !== undefined) files[n] = text
  }
  return files
}

export const eksctlSchemaFrom = (flag: string | undefined, inputs: ProvisionInputs): string | undefined =>
  flag ?? inputs.eksctlSchema ?? process.env.VAULTCTL_EKSCTL_SCHEMA
