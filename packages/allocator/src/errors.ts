import { ConflictError, InvalidInputError, NotFoundError } from '@swarmnet/interface'

/** A subnet, pool or address is not a valid IPv4 CIDR/address, or has host bits set. */
export class InvalidSubnetError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_SUBNET'
  override readonly code = InvalidSubnetError.code
}

/** A gateway is not an address, lies outside its subnet, or is the subnet's network or broadcast address. */
export class InvalidGatewayError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_GATEWAY'
  override readonly code = InvalidGatewayError.code
}

/** A requested or reserved address is not a usable host address of the network's subnet. */
export class InvalidAddressError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_ADDRESS'
  override readonly code = InvalidAddressError.code
}

/** A VNI, port, protocol or id is out of range or malformed. */
export class InvalidRequestError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_ALLOCATION_REQUEST'
  override readonly code = InvalidRequestError.code
}

/** The same published port appears twice in one request. */
export class DuplicatePortError extends InvalidInputError {
  static override readonly code = 'ERR_DUPLICATE_PORT'
  override readonly code = DuplicatePortError.code
}

/** A snapshot given to `createAllocator` is malformed or inconsistent. */
export class InvalidSnapshotError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_ALLOCATOR_SNAPSHOT'
  override readonly code = InvalidSnapshotError.code
}

/** A subnet overlaps the subnet of an existing network. */
export class SubnetOverlapError extends ConflictError {
  static override readonly code = 'ERR_SUBNET_OVERLAP'
  override readonly code = SubnetOverlapError.code
}

/** The network id is already allocated. */
export class NetworkExistsError extends ConflictError {
  static override readonly code = 'ERR_NETWORK_EXISTS'
  override readonly code = NetworkExistsError.code
}

/** A pinned VNI is held by another network. */
export class VniInUseError extends ConflictError {
  static override readonly code = 'ERR_VNI_IN_USE'
  override readonly code = VniInUseError.code
}

/** A requested address is held by another endpoint or VIP, or the id already holds another address. */
export class AddressInUseError extends ConflictError {
  static override readonly code = 'ERR_ADDRESS_IN_USE'
  override readonly code = AddressInUseError.code
}

/** A published port is held by another service. */
export class PortInUseError extends ConflictError {
  static override readonly code = 'ERR_PORT_IN_USE'
  override readonly code = PortInUseError.code
}

/** No VNI is left in [4096, 2^24-1]. */
export class VniExhaustedError extends ConflictError {
  static override readonly code = 'ERR_VNI_EXHAUSTED'
  override readonly code = VniExhaustedError.code
}

/** No subnet of the configured size is left in the default address pools. */
export class PoolExhaustedError extends ConflictError {
  static override readonly code = 'ERR_POOL_EXHAUSTED'
  override readonly code = PoolExhaustedError.code
}

/** No host address is left in a network's subnet. */
export class AddressExhaustedError extends ConflictError {
  static override readonly code = 'ERR_ADDRESS_EXHAUSTED'
  override readonly code = AddressExhaustedError.code
}

/** No port is left in the dynamic range 30000-32767 for a protocol. */
export class PortExhaustedError extends ConflictError {
  static override readonly code = 'ERR_PORT_EXHAUSTED'
  override readonly code = PortExhaustedError.code
}

/** The network is not allocated. */
export class NetworkNotFoundError extends NotFoundError {
  static override readonly code = 'ERR_NETWORK_NOT_FOUND'
  override readonly code = NetworkNotFoundError.code
}
