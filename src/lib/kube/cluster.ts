// Which cluster an environment names: its kubeconfig (default KUBECONFIG, then ~/.kube/config,
// as kubectl reads it) and context; undefined when it names neither.
import type {Environment} from '../config/schema.js'
import type {KubeWhere} from '../plan/ops-lab.js'
import {expandHome} from '../paths.js'
import {usageError} from '../errors.js'

export function clusterOf(env: Pick<Environment, 'kubernetes'>): KubeWhere | undefined {
  const k = env.kubernetes
  if (!k?.kubeconfig && !k?.context) return undefined
  return {kubeconfig: expandHome(k.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config'), ...(k.context ? {context: k.context} : {})}
}

/** The environment's cluster, or a usage error saying how to name one. */
export function requireCluster(env: Pick<Environment, 'kubernetes'>, envName: string, without = 'the lab has one: vaultctl lab up --with kubernetes'): KubeWhere {
  const c = clusterOf(env)
  if (!c) throw usageError('NO_KUBERNETES', `environment ${envName} names no cluster (kubernetes.kubeconfig or kubernetes.context)`, [`Add one to its config; ${without}.`])
  return c
}
