// Which cluster an environment names: its kubeconfig (default KUBECONFIG, then ~/.kube/config,
// as kubectl reads it) and context; undefined when it names neither.
import type {Environment} from '../config/schema.js'
import type {KubeWhere} from '../plan/ops-lab.js'
import {expandHome} from '../paths.js'

export function clusterOf(env: Pick<Environment, 'kubernetes'>): KubeWhere | undefined {
  const k = env.kubernetes
  if (!k?.kubeconfig && !k?.context) return undefined
  return {kubeconfig: expandHome(k.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config'), ...(k.context ? {context: k.context} : {})}
}
