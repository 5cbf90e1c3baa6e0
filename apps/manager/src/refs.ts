import { ConflictError, NotFoundError } from '@swarmnet/interface'

/**
 * Finds the object a user means by `ref`, the way docker resolves names: an exact id, else a
 * unique name, else a unique id prefix. Ambiguity is an error that names what to use instead.
 */
export function resolveRef<T extends { id: string }>(
  kind: string,
  all: readonly T[],
  ref: string,
  nameOf: (x: T) => string,
): T {
  const byId = all.find((x) => x.id === ref)
  if (byId !== undefined) return byId
  const named = all.filter((x) => nameOf(x) === ref)
  if (named.length > 1) throw new ConflictError(`${kind} name '${ref}' is ambiguous; use the ${kind} id`)
  if (named[0] !== undefined) return named[0]
  const prefixed = ref.length === 0 ? [] : all.filter((x) => x.id.startsWith(ref))
  if (prefixed.length > 1) throw new ConflictError(`${kind} id prefix '${ref}' is ambiguous`)
  if (prefixed[0] !== undefined) return prefixed[0]
  throw new NotFoundError(`${kind} ${ref} not found`)
}
