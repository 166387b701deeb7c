// EC2 instance types a node pool may name: a known family and a size that family comes in.
// A typo (c6i.2xlarg, r6l.xlarge) is caught here instead of by a failed CloudFormation stack.
const FAMILIES: Record<string, string[]> = {
  t3: ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'],
  t3a: ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'],
  t4g: ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'],
  m5: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', 'metal'],
  m6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', 'metal'],
  m6a: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', 'metal'],
  m7i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'],
  m7g: ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', 'metal'],
  c5: ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge', 'metal'],
  c5a: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'],
  c6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', 'metal'],
  c6a: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', 'metal'],
  c7i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'],
  c7g: ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', 'metal'],
  r5: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', 'metal'],
  r6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', 'metal'],
  r6a: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', 'metal'],
  r7i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'],
  r7g: ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', 'metal'],
  i4i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', '32xlarge', 'metal'],
}

/** undefined when the type exists, else what is wrong with it. */
export function instanceTypeProblem(type: string): string | undefined {
  const [family, size, ...rest] = type.split('.')
  const sizes = family ? FAMILIES[family] : undefined
  if (!sizes || !size || rest.length) {
    const near = Object.keys(FAMILIES).filter((f) => family && (f.startsWith(family.slice(0, 2)) || family.startsWith(f)))
    return `unknown EC2 instance type "${type}"${near.length ? ` (families like it: ${near.slice(0, 5).join(', ')})` : ''}`
  }
  if (!sizes.includes(size)) return `unknown EC2 instance type "${type}": ${family} comes in ${sizes.join(', ')}`
  return undefined
}
