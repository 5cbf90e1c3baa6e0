/**
 * Pure builders for the supervisor command line. Nothing here touches the system, so the
 * exact argv and shell text are unit-tested.
 *
 * A task is a chain of four processes (host pids, parent first):
 *
 * ```
 * sh -c OUTER            supervisor: session + process-group leader (setsid), host namespaces.
 *                        Traps TERM/INT/HUP (so a group signal cannot kill it before it
 *                        records the exit code), waits, then writes `$?` to <id>.exit.
 *  └ ip netns exec NS    joins the task's netns (+ a mount ns with /sys for that netns and
 *    → unshare …         /etc/netns/NS bind mounts), then execs unshare: new pid, mount, uts
 *                        namespaces, a fresh /proc. --kill-child: if unshare dies the task dies.
 *     └ sh -c INNER      pid 1 of the task's pid namespace ("init"): sets the hostname,
 *                        starts the command, forwards TERM/INT/HUP to it, reaps, exits with
 *                        its status. When init dies the kernel SIGKILLs the whole namespace.
 *        └ argv…         the task's command (pid 2 inside).
 * ```
 *
 * The command is not exec'd as pid 1 on purpose: the kernel drops signals to a namespace
 * init that has no handler, so `sleep` as pid 1 would ignore a graceful SIGTERM (Docker
 * without `--init`). The price: a background job of a non-interactive sh starts with
 * SIGINT/SIGQUIT ignored, so tasks see SIGTERM (stop) but not SIGINT from the runtime.
 */

/** PATH given to tasks that do not set one (the usual Linux default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Absolute paths of the tools the supervisor runs (resolved once, see `spawn.ts`). */
export interface Tools {
  readonly sh: string
  readonly ip: string
  readonly unshare: string
  readonly nsenter: string
  readonly mount: string
}

const PLAIN = /^[A-Za-z0-9_./:=@%+,-]+$/

/** Quotes one word for POSIX sh so that it reaches the program unchanged. */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new TypeError('a shell word cannot contain NUL')
  if (PLAIN.test(word)) return word
  return `'${word.replaceAll("'", `'\\''`)}'`
}

/**
 * The init script (pid 1 in the task's pid namespace). `$1` is the hostname, `$2` a file to
 * bind over /etc/resolv.conf ('' for none; the mount namespace is the task's own, so the
 * host's file is untouched), `$3` the mount binary, the rest is the task's argv. Exit 125
 * when the hostname or resolv.conf cannot be set (nothing of the task ran).
 */
export const INIT_SCRIPT = [
  'h=$1; r=$2; m=$3; shift 3',
  'printf \'%s\' "$h" > /proc/sys/kernel/hostname || exit 125',
  '[ -z "$r" ] || "$m" --bind "$r" /etc/resolv.conf || exit 125',
  'trap \'kill -TERM "$c" 2>/dev/null\' TERM',
  'trap \'kill -INT "$c" 2>/dev/null\' INT',
  'trap \'kill -HUP "$c" 2>/dev/null\' HUP',
  '"$@" </dev/null &',
  'c=$!',
  // `wait` returns 128+N when a trap fires; while the child lives, wait again. A trap can
  // also interrupt a `wait` that has already reaped the child (dash keeps that status for
  // the next `wait`; 127 means it was reported already), so collect once more at the end.
  'while :; do',
  '  wait "$c"; s=$?',
  '  kill -0 "$c" 2>/dev/null && continue',
  '  wait "$c"; r=$?; [ "$r" -eq 127 ] || s=$r',
  '  break',
  'done',
  'exit "$s"',
].join('\n')

export interface SupervisorSpec {
  readonly netns: string
  readonly hostname: string
  /** A file bound over the task's /etc/resolv.conf; absent: the host's. */
  readonly resolvConf?: string | undefined
  readonly argv: readonly string[]
  /** Where the supervisor writes the exit status (decimal + newline) when the task ends. */
  readonly exitFile: string
  /** `cgroup.procs` files the supervisor joins first, so the whole task is in its cgroup. */
  readonly cgroupProcs?: readonly string[] | undefined
}

/** The whole supervisor script (run as `sh -c SCRIPT swarmnet-supervisor`). */
export function supervisorScript(tools: Tools, spec: SupervisorSpec): string {
  const chain = [
    tools.ip,
    'netns',
    'exec',
    spec.netns,
    tools.unshare,
    '--fork',
    '--kill-child',
    '--pid',
    '--mount-proc',
    '--uts',
    tools.sh,
    '-c',
    INIT_SCRIPT,
    'swarmnet-init',
    spec.hostname,
    spec.resolvConf ?? '',
    tools.mount,
    ...spec.argv,
  ]
  return [
    // a handler (not SIG_IGN, which would be inherited by the task) so a group signal
    // cannot kill the supervisor before it records the exit status
    'trap : TERM INT HUP',
    // into the task's cgroup before anything of it starts; if that fails nothing runs (125)
    ...(spec.cgroupProcs ?? []).map(
      (f) =>
        `printf '%s\\n' "$$" > ${shellQuote(f)} || { printf '125\\n' > ${shellQuote(spec.exitFile)}; exit 125; }`,
    ),
    chain.map(shellQuote).join(' '),
    's=$?',
    `printf '%s\\n' "$s" > ${shellQuote(spec.exitFile)}`,
    'exit "$s"',
  ].join('\n')
}

/** argv of the supervisor process. */
export function supervisorArgv(tools: Tools, spec: SupervisorSpec): string[] {
  return [tools.sh, '-c', supervisorScript(tools, spec), 'swarmnet-supervisor']
}

/** argv that runs `argv` inside every namespace of the task's init process. */
export function execArgv(tools: Tools, initPid: number, argv: readonly string[]): string[] {
  return [tools.nsenter, '--target', String(initPid), '--all', '--root', '--wd', '--', ...argv]
}

/** The environment of a task: a default PATH, the caller's env, then what the runtime sets. */
export function taskEnv(
  taskId: string,
  hostname: string,
  env: Readonly<Record<string, string>>,
): Record<string, string> {
  return { PATH: DEFAULT_PATH, HOSTNAME: hostname, ...env, SWARMNET_TASK_ID: taskId }
}

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/
const NETNS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/
const HOSTNAME =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const ENV_KEY = /^[^=\0]+$/

/** Why a task id is unusable (it names files under stateDir/logDir), or undefined. */
export function taskIdProblem(id: string): string | undefined {
  return TASK_ID.test(id) ? undefined : `task id ${JSON.stringify(id)} must match ${TASK_ID}`
}

/** The default hostname of a task: the first 12 characters of its id (like Docker). */
export function defaultHostname(taskId: string): string {
  return (
    taskId
      .slice(0, 12)
      .replace(/[^A-Za-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '') || 'task'
  )
}

/** Every problem with a task spec (empty when valid). */
export function taskProblems(task: {
  id: string
  netns: string
  argv: readonly string[]
  env: Readonly<Record<string, string>>
  hostname?: string | undefined
}): string[] {
  const problems: string[] = []
  const idProblem = taskIdProblem(task.id)
  if (idProblem !== undefined) problems.push(idProblem)
  if (!NETNS.test(task.netns)) problems.push(`netns ${JSON.stringify(task.netns)} is not a valid name`)
  if (task.argv.length === 0 || task.argv[0] === '') problems.push('argv must name a program')
  if (task.argv.some((a) => a.includes('\0'))) problems.push('argv cannot contain NUL bytes')
  for (const [k, v] of Object.entries(task.env)) {
    if (!ENV_KEY.test(k)) problems.push(`env name ${JSON.stringify(k)} is not valid`)
    if (v.includes('\0')) problems.push(`env ${k} cannot contain NUL bytes`)
  }
  if (task.hostname !== undefined && (task.hostname.length > 64 || !HOSTNAME.test(task.hostname)))
    problems.push(`hostname ${JSON.stringify(task.hostname)} is not a valid host name (RFC 1123, ≤ 64)`)
  return problems
}
