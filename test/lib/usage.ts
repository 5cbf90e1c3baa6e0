/**
 * Issue 17's table of CLI calls: for every verb, a usage error (exit 2) and a request the
 * agent refuses (exit 1). The unit tier runs the usage errors without an agent; the lab e2e
 * runs both against a real cluster. No message may carry a schema validator's wording.
 */

/** zod's (and commander's parser's) own phrases: none may reach a user. */
export const VALIDATOR_WORDING =
  /Too small|Too big|expected string|expected number|Invalid input|Invalid option|Invalid enum|received undefined|ZodError|invalid_type|too_small/i

/** [verb, argv] of a usage error for every verb the CLI has. */
export const USAGE_ERRORS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['--version', ['--version-flag']],
  ['version', ['version', '--bogus']],
  ['agent', ['agent', '--metrics-addr', 'nonsense']],
  ['init', ['init', '--advertise-addr', 'not-an-ip']],
  ['init (mask)', ['init', '--default-addr-pool-mask-length', 'abc']],
  ['init (ingress subnet)', ['init', '--ingress-subnet', '10.255.0.0']],
  ['init (ingress subnet host bits)', ['init', '--ingress-subnet', '10.255.0.1/16']],
  ['join', ['join', '--token', 'x']],
  ['join (address)', ['join', '--token', 'x', 'nowhere:99999']],
  ['join-token', ['join-token', 'admin']],
  ['leave', ['leave', 'extra']],
  ['info', ['info', '--bogus']],
  ['node ls', ['node', 'ls', '--filter', 'colour=red']],
  ['node ls (format)', ['node', 'ls', '--format', 'yaml']],
  ['node inspect', ['node', 'inspect']],
  ['node update', ['node', 'update', '--availability', 'sleepy', 'self']],
  ['node rm', ['node', 'rm']],
  ['network create', ['network', 'create']],
  ['network create (opt)', ['network', 'create', '--opt', '=1', 'n']],
  ['network ls', ['network', 'ls', '--format', '{{range .}}{{end}}']],
  ['network inspect', ['network', 'inspect', '--format', 'table', 'n']],
  ['network rm', ['network', 'rm']],
  ['service create', ['service', 'create', '--name', 'x', '--replicas', '-1', '--', 'sleep', '1']],
  ['service create (abc)', ['service', 'create', '--name', 'x', '--replicas', 'abc', '--', 'sleep', '1']],
  ['service create (name)', ['service', 'create', '--name', '', '--', 'sleep', '1']],
  ['service create (mode)', ['service', 'create', '--name', 'x', '--mode', 'both', '--', 'sleep', '1']],
  ['service ls', ['service', 'ls', '--filter', 'mode=job']],
  ['service ps', ['service', 'ps', '--format', '{{.Image}}', 'web']],
  ['service inspect', ['service', 'inspect', '--format', '{{if .x}}{{end}}', 'web']],
  ['service scale', ['service', 'scale', 'web=-1']],
  ['service scale (pair)', ['service', 'scale', 'web']],
  ['service rm', ['service', 'rm']],
  ['service update (parallelism)', ['service', 'update', '--update-parallelism', '-1', 'web']],
  ['service update (action)', ['service', 'update', '--update-failure-action', 'explode', 'web']],
  ['service update (order)', ['service', 'update', '--update-order', 'random', 'web']],
  ['service update (ratio)', ['service', 'update', '--update-max-failure-ratio', '1.5', 'web']],
  ['service update (delay)', ['service', 'update', '--update-delay', 'soon', 'web']],
  ['service update (rollback action)', ['service', 'update', '--rollback-failure-action', 'rollback', 'web']],
  ['service update (unknown flag)', ['service', 'update', '--colour', 'red', 'web']],
  ['service update (constraint)', ['service', 'update', '--constraint-add', 'node.colour==red', 'web']],
  ['service update (limit)', ['service', 'update', '--limit-memory', 'lots', 'web']],
  ['service update (publish-add)', ['service', 'update', '--publish-add', '80:', 'web']],
  ['service update (publish-rm)', ['service', 'update', '--publish-rm', '80/sctp', 'web']],
  ['service create (publish 0)', ['service', 'create', '--name', 'x', '-p', '0', '--', 'sleep', '1']],
  [
    'service create (publish 65536)',
    ['service', 'create', '--name', 'x', '-p', '65536:80', '--', 'sleep', '1'],
  ],
  [
    'service create (publish abc)',
    ['service', 'create', '--name', 'x', '--publish', 'abc', '--', 'sleep', '1'],
  ],
  ['service create (publish 80:)', ['service', 'create', '--name', 'x', '-p', '80:', '--', 'sleep', '1']],
  [
    'service create (publish mode)',
    ['service', 'create', '--name', 'x', '--publish', 'target=80,mode=bridge', '--', 'sleep', '1'],
  ],
  [
    'service create (publish host without a port)',
    ['service', 'create', '--name', 'x', '--publish', 'target=80,mode=host', '--', 'sleep', '1'],
  ],
  [
    'service create (publish key)',
    ['service', 'create', '--name', 'x', '--publish', 'target=80,colour=red', '--', 'sleep', '1'],
  ],
  [
    'service create (publish dnsrr)',
    ['service', 'create', '--name', 'x', '-p', '80', '--endpoint-mode', 'dnsrr', '--', 'sleep', '1'],
  ],
  ['service update (env-add)', ['service', 'update', '--env-add', 'NOVALUE', 'web']],
  ['service update (args)', ['service', 'update', '--args', '', 'web']],
  ['service update (health interval 0)', ['service', 'update', '--health-interval', '0s', 'web']],
  [
    'service update (no-healthcheck and cmd)',
    ['service', 'update', '--no-healthcheck', '--health-cmd', 'true', 'web'],
  ],
  [
    'service create (health without cmd)',
    ['service', 'create', '--name', 'x', '--health-retries', '2', '--', 'sleep', '1'],
  ],
  ['service update (no service)', ['service', 'update', '--force']],
  ['service rollback (no service)', ['service', 'rollback']],
  [
    'service create (restart delay)',
    ['service', 'create', '--name', 'x', '--restart-delay', '5', '--', 'sleep', '1'],
  ],
  ['service logs', ['service', 'logs', '--tail', 'x', 'web']],
  ['exec', ['exec', 'sometask']],
  ['lab up', ['lab', 'up', 'many']],
  ['whoami', ['whoami', '--port', '70000']],
  ['endpoint attach', ['endpoint', 'attach']],
  ['unknown verb', ['frobnicate']],
]
