/** `network create` input on the manager: what may be asked for, checked before anything is allocated. */
import { InvalidInputError } from '@swarmnet/interface'

/** A `network create` request, as the API validated it. */
export interface NetworkCreate {
  name: string
  driver: string
  subnet?: string | undefined
  gateway?: string | undefined
  attachable: boolean
  options: Record<string, string>
  /** The cluster's ingress network (only the manager creates it, never the API). */
  ingress?: boolean
}

const KNOWN_OPTIONS = new Set(['encrypted', 'mtu'])

/** Refuses what the manager cannot build; answers whether the network is encrypted. */
export function checkNetworkCreate(req: NetworkCreate): { encrypted: boolean } {
  if (req.driver !== 'overlay')
    throw new InvalidInputError(`driver '${req.driver}' is not supported: only 'overlay'`)
  for (const k of Object.keys(req.options))
    if (!KNOWN_OPTIONS.has(k)) throw new InvalidInputError(`unknown network option '${k}'`)
  const encrypted = encryptedOption(req.options.encrypted)
  if (req.gateway !== undefined && req.subnet === undefined)
    throw new InvalidInputError('--gateway needs --subnet')
  return { encrypted }
}

/** `--opt encrypted` (Docker's form has no value; `=true`/`=false` are taken too). */
export function encryptedOption(value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false
  if (value === '' || value === 'true') return true
  throw new InvalidInputError(`invalid --opt encrypted=${value}: expected no value, true or false`)
}
