import type { Node } from './types.js'

/** May receive new tasks: Ready and Active. */
export function isEligible(node: Node | undefined): node is Node {
  return node !== undefined && node.status === 'ready' && node.availability === 'active'
}

/** Its tasks are gone for good: the node is Down or no longer exists. */
export function isLost(node: Node | undefined): boolean {
  return node === undefined || node.status === 'down'
}

/** Its tasks must move elsewhere: lost or drained. Paused and unknown nodes keep theirs. */
export function mustVacate(node: Node | undefined): boolean {
  return isLost(node) || node?.availability === 'drain'
}

export function nodeIndex(nodes: readonly Node[]): Map<string, Node> {
  return new Map(nodes.map((n) => [n.id, n]))
}
