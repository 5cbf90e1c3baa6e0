/**
 * A task's REDIRECTs of published ports (Docker's `addRedirectRules`): in its sandbox,
 * `table ip swarmnet-task` (owned by the sandbox planner) with, per redirect of an
 * attachment, `iifname "eth<i>" <proto> dport <published> redirect to :<target>` — the
 * ingress namespace balances to the published port, the task listens on its target port.
 * The table is small: when its rules differ it is replaced whole in one transaction; with
 * no redirect left it is deleted.
 */
import { endpointInterface, NFT_TASK_TABLE } from './names.js'
import { commentsOf, sameList, withComment } from './nft-delta.js'
import type { NftStep } from './plan.js'
import type { CheckedEndpoint } from './spec.js'

const T = `ip ${NFT_TASK_TABLE}`

export function taskRules(ep: CheckedEndpoint): string[] {
  return ep.attachments.flatMap((a, i) =>
    a.redirects.map(
      (r) => `iifname "${endpointInterface(i)}" ${r.protocol} dport ${r.published} redirect to :${r.target}`,
    ),
  )
}

/** The step that brings the sandbox's task table from `have` (its rule comments; undefined: absent) to `ep`'s. */
export function planTaskTable(
  ep: CheckedEndpoint,
  ns: string,
  have: readonly string[] | undefined,
): NftStep[] {
  const rules = taskRules(ep)
  if (rules.length === 0)
    return have === undefined ? [] : [{ tool: 'nft', netns: ns, script: `delete table ${T}` }]
  if (sameList(have, commentsOf(rules))) return []
  const script = [
    `table ${T} {}`,
    `delete table ${T}`,
    `table ${T} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...rules.map((r) => `    ${withComment(r)}`),
    '  }',
    '}',
  ]
  return [{ tool: 'nft', netns: ns, script: script.join('\n') }]
}
